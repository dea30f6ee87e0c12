"""Quotations and their speakers: the attribution cases, bad input, the CLI and the gold set."""

import json
import subprocess
import sys

import pytest

from kb.people import Directory, load_people
from kb.quotes import extract_quotes

from .conftest import ROOT, run_kb

DIRECTORY = Directory(load_people())


def speakers(text, author=None):
    return [(q.quote, q.speaker) for q in extract_quotes(text, DIRECTORY, author)]


@pytest.mark.parametrize("text, expected", [
    # reporting verb after the quotation, full name
    ("“You need linear algebra before anything else,” said Yann LeCun.", "Yann LeCun"),
    # alias, verb after the name
    ("“Calculus is the language of change,” LeCun said.", "Yann LeCun"),
    # apposition after the name
    ("“Those without the math make mistakes,” said Daphne Koller, who co-founded Coursera.", "Daphne Koller"),
    # according to
    ("“Learn the math your decisions need,” according to Ng.", "Andrew Ng"),
    # reporting verb before, colon
    ("Luis Serrano said: “Math is about building intuition, not memorising formulas.”", "Luis Serrano"),
    # accents folded
    ("“Take probability early,” said Joaquin Quinonero Candela.", "Joaquín Quiñonero Candela"),
])
def test_names_and_aliases(text, expected):
    assert [s for _, s in speakers(text)] == [expected]


def test_pronouns_resolve_to_the_nearest_compatible_person():
    text = ("Daphne Koller spoke after Andrew Ng. “Most beginners underestimate statistics,” she said. "
            "“Debugging needs calculus,” he added.")
    assert [s for _, s in speakers(text)] == ["Daphne Koller", "Andrew Ng"]


def test_first_person_quotes_belong_to_the_author():
    letter = "Dear friends,\nI have often said, “Don’t worry about the math yet.”\nKeep learning!\nAndrew"
    assert speakers(letter) == [("Don’t worry about the math yet.", "Andrew Ng")]  # the sign-off
    assert speakers("We always ask, “What does the learner need?”", author="Priya Raman") == [
        ("What does the learner need?", "Priya Raman")]
    assert speakers("We always ask, “What does the learner need?”") == [("What does the learner need?", None)]


def test_unknown_speakers_are_kept_and_followed_by_pronouns():
    quotes = extract_quotes("“Models break,” said Maria Gonzalez, a researcher. She added: “Math helps.”", DIRECTORY)
    assert [(q.quote, q.speaker) for q in quotes] == [("Models break", "Maria Gonzalez"), ("Math helps.", "Maria Gonzalez")]
    assert quotes[0].person.verified is False


def test_second_hand_quote_keeps_its_cited_source():
    text = ("Hey, have you heard of Yann LeCun?\n\nLet’s see what he has to say:\n\n"
            "Math. Math. Oh and perhaps some more math.\n\nFrom: https://techcrunch.com/2016/12/01/advice/\n")
    (quote,) = extract_quotes(text, DIRECTORY)
    assert (quote.quote, quote.speaker, quote.cue) == ("Math. Math. Oh and perhaps some more math.", "Yann LeCun", "has to say")
    assert quote.cites == "https://techcrunch.com/2016/12/01/advice/"


def test_a_link_kept_beside_the_plain_text_is_cited():
    text = "LeCun’s advice was blunt: “Study math before anything else.” (TechCrunch, 2016)"
    start = text.index("TechCrunch")
    (quote,) = extract_quotes(text, DIRECTORY, links=[{"start": start, "end": start + 10, "url": "https://tc.example/a"}])
    assert (quote.speaker, quote.cites) == ("Yann LeCun", "https://tc.example/a")


def test_scare_quotes_and_unattributed_quotes():
    text = "People “in the know” agree. “If you cannot derive it, you will not know when it is broken.”"
    assert speakers(text) == [("If you cannot derive it, you will not know when it is broken.", None)]


@pytest.mark.parametrize("text", [
    "",
    "No quotations here at all, just prose about gradient descent.",
    "“” \"\" “ ” \" \"",
    "He said “one “two” three” and left.",
    "“Unclosed quotation that runs to the end of the paragraph\nThe next paragraph is prose. “A real one here,” said Ng.",
    "“Der Mathematik-Anteil ist wichtig,” sagte sie. 数学は大事だ「とても」。",
    ("“A long quotation about calculus and linear algebra,” said Yann LeCun. " * 2000),
])
def test_bad_input_never_crashes_or_invents_a_speaker(text):
    quotes = extract_quotes(text, DIRECTORY)
    for q in quotes:
        assert text[q.start:q.end].strip() == q.quote
        assert q.speaker is None or q.speaker_mention is not None


def test_mismatched_marks_cost_only_their_paragraph():
    text = "A stray ” mark and a lone \" here.\n“The real quotation is in this paragraph,” said Koller."
    assert speakers(text)[-1] == ("The real quotation is in this paragraph", "Daphne Koller")


def test_cli_jsonl_offsets_point_into_the_file(tmp_path):
    path = tmp_path / "article.txt"
    text = "Intro.\n“Take linear algebra early,” said Yann LeCun, who invented CNNs.\n"
    path.write_text(text, encoding="utf-8")
    result = run_kb("quotes", path, "--jsonl")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["file"] == str(path) and record["speaker"] == "Yann LeCun" and record["cue"] == "said"
    assert text[record["start"]:record["end"]] == record["quote"] == "Take linear algebra early"
    assert text[record["speaker_start"]:record["speaker_end"]] == record["speaker_mention"] == "Yann LeCun"


def test_cli_reports_unreadable_files(tmp_path):
    result = run_kb("quotes", tmp_path / "missing.txt", "--jsonl")
    assert result.returncode == 1 and "cannot read" in result.stderr


@pytest.mark.skipif(not (ROOT.parent / "shared" / "seeds").exists(), reason="shared/seeds is not beside the project")
def test_gold_set_script_reports_its_figures():
    result = subprocess.run([sys.executable, "tests/gold/evaluate.py", "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["quote_and_speaker"]["f1"] >= 0.9, report["errors"]
    assert report["copy_grouping"]["f1"] >= 0.95
    assert report["stance"]["gold"] >= 12 and report["stance"]["accuracy"] >= 0.7


def test_news_style_attribution_titles_surnames_and_unnamed_speakers():
    text = ("“We are not cutting jobs,” Chief Executive Sarah Lin told reporters. “The market is strong,” she said.\n"
            "“I don’t buy it,” said Mark Hill, an analyst. “It’s a bold plan,” Hill said.\n"
            "“We expected less,” said lead author Kenji Watanabe. Watanabe disagreed: “The data speak.”\n"
            "“Nobody expected this,” one employee said.")
    found = [(q.quote, q.speaker, q.speaker_mention) for q in extract_quotes(text, DIRECTORY)]
    assert found == [
        ("We are not cutting jobs", "Sarah Lin", "Sarah Lin"),  # title dropped
        ("The market is strong", "Sarah Lin", "she"),
        ("I don’t buy it", "Mark Hill", "Mark Hill"),
        ("It’s a bold plan", "Mark Hill", "Hill"),  # surname of an earlier speaker
        ("We expected less", "Kenji Watanabe", "Kenji Watanabe"),  # descriptor between verb and name
        ("The data speak.", "Kenji Watanabe", "Watanabe"),
        ("Nobody expected this", None, "one employee"),  # kept, nobody invented
    ]
