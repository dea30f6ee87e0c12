"""Split a document's text into passages: the unit of search, quotes and vectors.

A passage is a paragraph of the extracted text. Paragraphs longer than
``max_chars`` are cut between sentences (or, for a run-on sentence, between
words) so every passage stays small enough to embed and to show as a search
hit. Passages are returned as (start, end) character offsets into the text,
so deep links and quotes can point back into the document exactly.
"""

from __future__ import annotations

import re

DEFAULT_MAX_CHARS = 1000

_PARAGRAPH = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_SPACE = re.compile(r"\s+")


def split_passages(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the passages of ``text``, in order."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    spans: list[tuple[int, int]] = []
    for paragraph in _PARAGRAPH.finditer(text):
        start, end = _strip(text, paragraph.start(), paragraph.end())
        if start < end:
            spans.extend(_split_long(text, start, end, max_chars))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Pack sentences greedily into pieces of at most max_chars."""
    if end - start <= max_chars:
        return [(start, end)]
    pieces = []
    piece_start = start
    last_break = None  # end of the last sentence (or word) that still fits
    for boundary in _boundaries(text, start, end, max_chars):
        if boundary - piece_start > max_chars and last_break is not None:
            pieces.append(_strip(text, piece_start, last_break))
            piece_start = last_break
        last_break = boundary
    pieces.append(_strip(text, piece_start, end))
    return [p for p in pieces if p[0] < p[1]]


def _boundaries(text: str, start: int, end: int, max_chars: int):
    """Sentence ends, with word breaks inside sentences longer than max_chars."""
    previous = start
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, start, end)] + [end]
    for sentence_end in sentence_ends:
        if sentence_end - previous > max_chars:
            for word in _SPACE.finditer(text, previous, sentence_end):
                yield word.end()
        yield sentence_end
        previous = sentence_end
