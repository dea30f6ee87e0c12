"""Paragraphs as blocks, and the quotation marks in them: the plain-text side of attribution.

A paragraph is prose, or one of the blocks that hold no statements (code, JSON and shell samples,
a reference list's entries, headings and labels). Quotation marks are paired within a paragraph,
so a stray or mismatched mark costs at most that paragraph. Titles, terms and code in quotation
marks are recognised here too, as are the links near a quotation.
"""

from __future__ import annotations

import re

from embeddings.chunking import trim_span

SPEECH_MIN_WORDS = 5  # quoted words shorter than this are a term or a scare quote unless someone named said them
MAX_PIECE_CHARS = 2_500  # one text given to the parser: long paragraphs are cut between sentences
OPEN_MARKS = '“"„'
CLOSE_MARKS = '”"'
QUOTE_MARKS = '“”"„'
_SMALL_WORDS = {
    "of",
    "the",
    "a",
    "an",
    "and",
    "or",
    "in",
    "on",
    "for",
    "to",
    "with",
    "at",
    "by",
    "from",
    "vs",
    "is",
    "as",
    "but",
    "nor",
    "into",
    "via",
    "de",
    "la",
    "van",
    "von",
    "und",
    "are",
    "be",
}


def block_kind(paragraph: str) -> str:
    """``prose``, or what holds no statements: ``code`` (code, JSON, shell), ``reference`` (a citation), ``heading``."""
    stripped = paragraph.strip()
    if re.match(
        r"^(?:\$ |>>> |\.\.\. |#include|import |from \S+ import|def |class |function |const |let |var |"
        r"pip |npm |git |curl |docker |sudo |python |//|/\*|<\?|<[a-z]+[ >])",
        stripped,
    ):
        return "code"
    symbols = sum(stripped.count(c) for c in "{}[]();=<>_\\|$`#@*^~")
    if (
        len(stripped) >= 8
        and symbols / len(stripped) > 0.08
        and not re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", stripped)
    ):
        return "code"
    if (
        re.match(r"^\s*[\[{]", stripped)
        and re.search(r"[\]}],?\s*$", stripped)
        or re.match(r'^\s*"[^"]+"\s*:', stripped)
    ):
        return "code"
    if is_reference(stripped):
        return "reference"
    if len(stripped) < 80 and not re.search(r"[.!?:;,”\"’)…]$", stripped) and len(stripped.split()) <= 10:
        return "heading"
    return "prose"


def is_reference(text: str) -> bool:
    year = re.search(r"\b(?:1[89]|20)\d\d[a-z]?\b", text)
    if not year or len(text) > 600:
        return False
    leading = re.match(r"^(?:\[\d+\]|\d{1,3}[.)]\s|↩|\^|[A-Z][\w’'\-]+,\s+(?:[A-Z]\.\s*)+(?:,|&|and\b))", text)
    signals = len(
        re.findall(
            r"et al\.?|arXiv|doi[:.]|Proceedings|Journal of|Conference on|pp\.\s*\d|Vol\.\s*\d|"
            r"ISBN|Retrieved|In [A-Z][a-z]+ (?:et al|[A-Z])|\(\d{4}[a-z]?\)[.,]|https?://",
            text,
        )
    )
    return bool(leading) or signals >= 2


def quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of quoted content in one paragraph; unclosed quotes run to its end."""
    spans, open_at = [], None
    for i in range(start, end):
        c = text[i]
        if c not in OPEN_MARKS and c not in CLOSE_MARKS:
            continue
        before = text[i - 1] if i > start else " "
        after = text[i + 1] if i + 1 < end else " "
        if open_at is None:
            opening = c in "“„" or (c == '"' and (before.isspace() or before in "([{—–-:―") and not after.isspace())
            if c == "”" and i == start:  # a paragraph opening with a reversed mark (”Fear. …”)
                opening = True
            if opening:
                open_at = i + 1
        else:
            closing = c == "”" or (c == '"' and not before.isspace()) or (c == '"' and after in " \t,.;:")
            if closing:
                content_end = i - 1 if text[i - 1] == "," else i  # “Models break,” said …
                if content_end > open_at:
                    spans.append((open_at, content_end))
                open_at = None
            elif c in "“„":
                open_at = i + 1  # a new opening before the old one closed: the old one was stray
    if open_at is not None and end - open_at > 1:
        spans.append((open_at, end))
    return [trim_span(text, a, b) for a, b in spans if text[a:b].strip()]


def split_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A paragraph as parser inputs of at most MAX_PIECE_CHARS, cut between sentences (or words)."""
    pieces = []
    while end - start > MAX_PIECE_CHARS:
        window = text[start : start + MAX_PIECE_CHARS]
        cut = max((m.end() for m in re.finditer(r"[.!?…][”\"’)]*\s+", window)), default=0)
        if cut < MAX_PIECE_CHARS // 4:
            cut = window.rfind(" ") + 1 or MAX_PIECE_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


def title_case(text: str) -> bool:
    """A headline in title case: most of its words capitalised."""
    words = re.findall(r"[^\W\d_][\w’'\-]*", text)
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    return len(content) >= 4 and sum(w[0].isupper() for w in content) >= 0.7 * len(content)


def is_title(content: str) -> bool:
    """A title or a name: every word that is not a small word capitalised (“State of the Union”)."""
    words = re.findall(r"[^\W\d_][\w’'\-]*", content)
    if not words or len(words) > 12:
        return False
    content_words = [w for w in words if w.lower() not in _SMALL_WORDS]
    return bool(content_words) and all(w[0].isupper() for w in content_words)


def is_code(content: str) -> bool:
    """Code, a formula, an identifier, a path or a URL."""
    stripped = content.strip()
    if "\\" in stripped or re.search(r"[{}]|\b\w+_\w+\b|\w\.\w+\(|\w\([\w\s,.=\-'\"]*\)|\s[=<>]=?\s|^\$ ", stripped):
        return True
    if sum(stripped.count(c) for c in "[]();=<>$|#@*^~`") / max(len(stripped), 1) > 0.06:
        return True
    return " " not in content.strip() and bool(re.search(r"[./_#@]", content.strip().rstrip(".!?")))


_URL = re.compile(r"https?://[^\s)\]>\"”]+")


def nearby_url(text: str, end: int, links: list[dict]) -> str | None:
    """A link or URL after the quotation within its paragraph and the next four non-empty ones."""
    window_end, seen = end, 0
    while seen < 5 and window_end < len(text):
        nxt = text.find("\n", window_end + 1)
        window_end = len(text) if nxt == -1 else nxt
        seen += bool(text[text.rfind("\n", 0, window_end) + 1 : window_end].strip())
    m = _URL.search(text, end, window_end)
    candidates = [(m.start(), m.group().rstrip(".,;"))] if m else []
    candidates += [(link["start"], link["url"]) for link in links if end <= link["start"] < window_end]
    return min(candidates)[1] if candidates else None
