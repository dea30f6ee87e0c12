"""Split a document's text into passages: the unit of search, quotes and vectors.

A passage is a paragraph of the extracted text; a heading (a short line with
no closing punctuation) joins the paragraph after it, because a heading alone
is a poor search hit and gives its paragraph context. A paragraph longer than the
limit is cut between sentences (or, for a run-on sentence, between words) so
every passage fits the embedding model's window and stays readable as a
search hit. ``length`` measures a piece of text: characters by default, or
the model's token count (``embeddings.model.load_token_counter``), which is
what the crawler uses so that no passage is silently truncated by the model.

Passages are (start, end) character offsets into the text, so deep links and
quotes can point back into the document exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

DEFAULT_MAX_CHARS = 1000

_PARAGRAPH = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_SPACE = re.compile(r"\s+")


def split_passages(
    text: str, max_length: int = DEFAULT_MAX_CHARS, length: Callable[[str], int] = len
) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the passages of ``text``, in order."""
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    splitter = _Splitter(text, max_length, length)
    spans: list[tuple[int, int]] = []
    heading_start = heading_end = None
    for paragraph in _PARAGRAPH.finditer(text):
        start, end = trim_span(text, paragraph.start(), paragraph.end())
        if start == end:
            continue
        if heading_start is not None and splitter.fits(heading_start, end):
            start = heading_start
        elif heading_start is not None:
            spans.extend(splitter.split(heading_start, heading_end))
        heading_start = None
        if _is_heading(text[start:end]):
            heading_start, heading_end = start, end
            continue
        spans.extend(splitter.split(start, end))
    if heading_start is not None:
        spans.extend(splitter.split(heading_start, heading_end))
    return spans


def _is_heading(line: str) -> bool:
    return len(line.split()) <= 12 and not line.rstrip().endswith((".", "!", "?", "…", ":", ";", ",", '"', "”"))


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) without the whitespace at either end of text[start:end]."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Splitter:
    def __init__(self, text: str, max_length: int, length: Callable[[str], int]):
        self.text, self.max_length, self.length = text, max_length, length

    def fits(self, start: int, end: int) -> bool:
        return self.length(self.text[start:end]) <= self.max_length

    def split(self, start: int, end: int) -> list[tuple[int, int]]:
        """Pack sentences greedily into pieces that fit."""
        if self.fits(start, end):
            return [(start, end)]
        pieces = []
        piece_start = start
        last_break = None  # end of the last sentence (or word) that still fits
        for boundary in self.boundaries(start, end):
            if last_break is not None and not self.fits(piece_start, boundary):
                pieces.append(trim_span(self.text, piece_start, last_break))
                piece_start = last_break
            last_break = boundary
        pieces.append(trim_span(self.text, piece_start, end))
        return [p for p in pieces if p[0] < p[1]]

    def boundaries(self, start: int, end: int) -> Iterator[int]:
        """Sentence ends, with word breaks inside sentences that do not fit alone."""
        previous = start
        sentence_ends = [m.end() for m in _SENTENCE_END.finditer(self.text, start, end)] + [end]
        for sentence_end in sentence_ends:
            if not self.fits(previous, sentence_end):
                for word in _SPACE.finditer(self.text, previous, sentence_end):
                    yield word.end()
            yield sentence_end
            previous = sentence_end
