"""Passages: paragraphs with exact offsets, long ones cut between sentences."""

import re

import pytest

from embeddings.chunking import split_passages


def test_one_passage_per_paragraph_with_exact_offsets():
    text = "First paragraph. Two sentences.\n\n  Indented second.  \nThird: a list follows:\n"
    spans = split_passages(text)
    assert [text[s:e] for s, e in spans] == [
        "First paragraph. Two sentences.",
        "Indented second.",
        "Third: a list follows:",
    ]


def test_headings_join_the_paragraph_after_them():
    text = "Why math matters\nBecause models break.\nA closing heading"
    assert [text[s:e] for s, e in split_passages(text)] == [
        "Why math matters\nBecause models break.",
        "A closing heading",
    ]
    # A heading that cannot fit with its paragraph stays alone rather than overflow.
    text = "Short heading\n" + "Long sentence here. " * 10
    pieces = [text[s:e] for s, e in split_passages(text, max_length=60)]
    assert pieces[0] == "Short heading" and all(len(p) <= 60 for p in pieces)


def test_token_length_function_is_respected():
    words = lambda piece: len(piece.split())  # noqa: E731
    text = " ".join(f"w{i}." for i in range(100))
    spans = split_passages(text, max_length=10, length=words)
    assert all(words(text[s:e]) <= 10 for s, e in spans)
    assert sum(words(text[s:e]) for s, e in spans) == 100


def test_long_paragraph_is_split_between_sentences_and_loses_nothing():
    sentences = [f"Sentence number {i} talks about gradient descent." for i in range(40)]
    text = "Intro.\n" + " ".join(sentences)
    spans = split_passages(text, max_length=200)
    pieces = [text[s:e] for s, e in spans]
    assert all(len(p) <= 200 for p in pieces)
    assert all(p.endswith(".") for p in pieces)  # cut at sentence ends
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
    assert spans == sorted(spans)


def test_run_on_sentence_is_split_between_words():
    text = " ".join(["word"] * 300)
    spans = split_passages(text, max_length=100)
    assert all(e - s <= 100 for s, e in spans)
    assert sum(text[s:e].count("word") for s, e in spans) == 300


@pytest.mark.parametrize("text", ["", "\n\n", "   \n \t\n"])
def test_empty_text_has_no_passages(text):
    assert split_passages(text) == []


def test_max_length_must_be_positive():
    with pytest.raises(ValueError):
        split_passages("text", max_length=0)
