"""The reader page: a stored document read in the knowledge base itself, not at its origin.

``/documents/{id}`` (and ``.json``) shows the text as stored, with its
statements highlighted (who, what kind, which stance) and anchors that
search results and person pages link to: ``#p{seq}`` for a passage,
``#q{id}`` for a statement. Beside it: where it came from (URL, first seen,
last fetched, status), its earlier versions with what changed, the other
places it was published, PDF page numbers and transcript times. Nothing on
the page is fetched from the original site, so it reads the same when that
site is gone.

The text is crawled data: ``reader_html`` escapes every character of it
and only adds its own tags around the escaped pieces.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

# Statements highlighted inside a paragraph; the others (a speaker's turn, a comment) mark whole paragraphs.
INLINE_KINDS = ("direct", "indirect")
MAX_DIFF_LINES = 400  # of one revision's diff: a rewritten page says "and N more lines"


@dataclass
class _Paragraph:
    start: int
    end: int
    html: Markup = Markup("")
    statements: list[dict] = field(default_factory=list)  # the turns and comments it belongs to


def reader_html(text: str, passages: list[dict], statements: list[dict]) -> list[_Paragraph]:
    """The document's paragraphs as escaped HTML: each passage's anchor (``p{seq}``, with its PDF
    page or its time in the recording where it has one) and each quotation or reported statement
    as a <mark> with its anchor (``q{id}``); turns and comments are listed per paragraph.

    ``passages``: seq, char_start, page, seconds, moment_url; ``statements``: id, kind, char_start,
    char_end, stance, speaker."""
    text = text or ""
    inline = _without_overlaps(sorted((s for s in statements if s["kind"] in INLINE_KINDS), key=_span))
    whole = [s for s in statements if s["kind"] not in INLINE_KINDS]
    passages = sorted(passages, key=lambda p: p["char_start"])
    starts = [p["char_start"] for p in passages]
    paragraphs, previous_end, last_page = [], 0, None
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        inserts: list[tuple[int, int, str]] = []  # (offset, order: closes first, markup)
        for passage in passages[bisect.bisect_left(starts, previous_end) : bisect.bisect_left(starts, end)]:
            markup = f'<span class="kb-anchor" id="p{passage["seq"]}"></span>'
            if passage.get("page") and passage["page"] != last_page:
                last_page = passage["page"]
                markup += f'<span class="kb-page" title="page of the PDF">p. {int(passage["page"])}</span>'
            if passage.get("seconds") is not None:
                label = escape(timestamp(passage["seconds"]))
                moment = passage.get("moment_url")
                markup += (
                    f'<a class="kb-time" href="{escape(moment)}">{label}</a>'
                    if moment
                    else f'<span class="kb-time">{label}</span>'
                )
            inserts.append((max(start, passage["char_start"]), 1, markup))
        for statement in inline:
            s_start, s_end = _span(statement)
            if s_end <= start or s_start >= end:
                continue
            first = s_start >= start
            anchor = f' id="q{statement["id"]}"' if first else ""
            stance = statement.get("stance") or "none"
            title = escape(_describe(statement))
            opening = (
                f'<mark class="kb-statement kb-{escape(statement["kind"])}" data-stance="{escape(stance)}"'
                f'{anchor} title="{title}">'
            )
            inserts.append((max(s_start, start), 2, opening))
            inserts.append((min(s_end, end), 0, "</mark>"))
        inserts.sort(key=lambda insert: (insert[0], insert[1]))
        pieces, position = [], start
        for offset, _, markup in inserts:
            pieces.append(str(escape(text[position:offset])))
            pieces.append(markup)
            position = offset
        pieces.append(str(escape(text[position:end])))
        paragraph = _Paragraph(start, end, Markup("".join(pieces)))
        paragraph.statements = [s for s in whole if _span(s)[0] < end and _span(s)[1] > start]
        paragraphs.append(paragraph)
        previous_end = end
    return paragraphs


def _span(statement: dict) -> tuple[int, int]:
    return statement["char_start"], statement["char_end"]


def _without_overlaps(statements: list[dict]) -> list[dict]:
    """Statements sorted by start, each kept unless it overlaps one kept before it (marks cannot cross)."""
    kept, end = [], -1
    for statement in statements:
        if statement["char_start"] >= end:
            kept.append(statement)
            end = statement["char_end"]
    return kept


def _describe(statement: dict) -> str:
    kind = {"direct": "quotation", "indirect": "reported statement"}.get(statement["kind"], statement["kind"])
    who = statement.get("speaker") or "speaker unknown"
    stance = statement.get("stance") or "no stance"
    return f"{who} · {kind} · {stance}"


def timestamp(seconds: int | None) -> str | None:
    """A time in a recording as a transcript writes it: 1:02:03, or 2:03 under an hour."""
    if seconds is None:
        return None
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def revision_diffs(current: dict, revisions: list[dict]) -> list[dict]:
    """Each earlier version (newest first) with what changed from it to the version after it:
    a unified diff by paragraph, cut at MAX_DIFF_LINES."""
    versions = sorted(revisions, key=lambda r: r["replaced_at"] or "", reverse=True)
    newer = current
    diffs = []
    for revision in versions:
        lines = list(
            difflib.unified_diff(
                (revision["text"] or "").splitlines(),
                (newer["text"] or "").splitlines(),
                fromfile="before",
                tofile="after",
                lineterm="",
                n=1,
            )
        )[2:]  # without the ---/+++ header
        more = max(0, len(lines) - MAX_DIFF_LINES)
        diffs.append(
            {
                "id": revision["id"],
                "title": revision["title"],
                "replaced_at": revision["replaced_at"],
                "title_changed": revision["title"] != newer["title"],
                "diff": [
                    {"kind": {"+": "added", "-": "removed", "@": "where"}.get(line[:1], "same"), "line": line}
                    for line in lines[:MAX_DIFF_LINES]
                ],
                "more_lines": more,
            }
        )
        newer = revision
    return diffs


def statements_by_id(rows: list[dict]) -> list[dict]:
    """Statement rows (one per speaker) as one statement each, with its speakers' names joined."""
    merged: dict[int, dict] = {}
    for row in rows:
        statement = merged.setdefault(row["id"], {**row, "speakers": []})
        if row.get("person_id") is not None:
            statement["speakers"].append({"id": row["person_id"], "name": row["person"]})
    for statement in merged.values():
        statement["speaker"] = ", ".join(s["name"] for s in statement["speakers"]) or statement.get("speaker_mention")
        statement["reasons"] = json.loads(statement.pop("stance_reasons", None) or "null")
    return sorted(merged.values(), key=lambda s: (s["char_start"], s["id"]))
