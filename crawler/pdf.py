"""PDF documents: text by page, metadata, and the limits that keep one bad file from stalling a crawl.

pypdfium2 (PDFium, the engine of Chrome's PDF viewer; Apache-2.0/BSD) was
chosen from bench/pdf_extraction.py's measurements of text quality and
speed against pdfminer.six and pypdf (BENCHMARKS.md). PDFium gives the
text lines of a page with their boxes; paragraphs are rebuilt from the
vertical gaps between lines, so passages, quotations and republished-copy
grouping see the same paragraphs a web page would give them.

A PDF becomes the same fields as an HTML article (crawler/extract.py), plus
``media_type`` and ``pages``: the offset in ``text`` where each page starts,
so every passage knows its page.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import datetime

from .extract import ExtractionError

PDF_MAGIC = b"%PDF-"
MEDIA_TYPE = "application/pdf"
PAGE_SEPARATOR = "\n\n"


class PdfError(ExtractionError):
    """A PDF whose text cannot be had; ``kind`` groups it in the run's failures."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def looks_like_pdf(body: bytes) -> bool:
    """The PDF signature, which the format allows anywhere in the first 1024 bytes."""
    return PDF_MAGIC in body[:1024]


def extract_pdf(body: bytes, url: str, max_pages: int = 500, max_seconds: float = 30.0) -> dict:
    """Article fields of a PDF: title, author, published from its metadata (else its first
    page), the text of every page and where each page starts.

    Raises PdfError (kind "encrypted PDF", "broken PDF", "too many pages", "too slow",
    "no text in PDF") instead of returning something partial.
    """
    import pypdfium2 as pdfium

    started = time.monotonic()
    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise PdfError("encrypted PDF (a password is needed to read it)", "encrypted PDF") from None
        raise PdfError(f"not a readable PDF ({e})", "broken PDF") from None
    try:
        if len(document) > max_pages:
            raise PdfError(f"{len(document)} pages, more than the {max_pages}-page limit", "too many pages")
        pages = []
        for index in range(len(document)):
            if time.monotonic() - started > max_seconds:
                raise PdfError(
                    f"text extraction took longer than {max_seconds:g} s (stopped at page {index + 1})", "too slow"
                )
            pages.append("\n\n".join(page_paragraphs(document[index])))
        metadata = document.get_metadata_dict()
    finally:
        document.close()
    if not any(page.strip() for page in pages):
        raise PdfError("no text in the PDF (scanned or image-only? there is no OCR)", "no text in PDF")
    text, starts = _join_pages(pages)
    first_page = [p for p in pages[0].split("\n\n") if p.strip()] if pages[0].strip() else []
    return {
        "url": url,
        "title": _clean(metadata.get("Title")) or (first_page[0][:200] if first_page else None),
        "author": _clean(metadata.get("Author")) or _first_page_author(first_page),
        "published": pdf_date(metadata.get("CreationDate")) or _first_page_date(first_page),
        "site_name": None,
        "language": None,
        "description": _clean(metadata.get("Subject")),
        "text": text,
        "links": [],
        "media_type": MEDIA_TYPE,
        "pages": starts,
    }


def page_paragraphs(page) -> list[str]:
    """The paragraphs of a pypdfium2 page: its text lines, joined where the vertical gap
    between two lines is small, split where it is large or where a column starts."""
    textpage = page.get_textpage()
    lines: list[list] = []  # [left, bottom, right, top, text]
    for index in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(index)
        text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
        if not text:
            continue
        if lines and abs(lines[-1][1] - bottom) < (top - bottom) / 2 and left >= lines[-1][2] - 1:
            lines[-1][2], lines[-1][4] = right, f"{lines[-1][4]} {text}"  # the same line, another run
        else:
            lines.append([left, bottom, right, top, text])
    if not lines:
        return []
    height = statistics.median(line[3] - line[1] for line in lines)
    paragraphs = [lines[0][4]]
    for previous, line in zip(lines, lines[1:]):
        gap = previous[1] - line[3]  # blank space between the two lines
        new_column = line[3] > previous[3] + height  # back up the page: a paragraph may run on into it
        if gap > 0.8 * height or (new_column and re.search(r"[.!?:\"”’)]$", previous[4])):
            paragraphs.append(line[4])
        elif paragraphs[-1].endswith("-") and line[4][:1].islower():
            paragraphs[-1] = paragraphs[-1][:-1] + line[4]  # a word hyphenated across lines
        else:
            paragraphs[-1] += " " + line[4]
    return paragraphs


MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_BYLINE = re.compile(r"^(?:by|authors?:)\s+([A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3})$", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_WRITTEN_DATE = re.compile(
    r"\b(?:(\d{1,2})\s+)?(" + "|".join(MONTHS) + r")\s+(?:(\d{1,2}),?\s+)?(\d{4})\b", re.IGNORECASE
)


def _first_page_author(paragraphs: list[str]) -> str | None:
    """ "By Jane Doe" (or "Author: Jane Doe") among the first paragraphs of the first page."""
    for paragraph in paragraphs[:6]:
        if match := _BYLINE.match(paragraph.strip()):
            return match.group(1)
    return None


def _first_page_date(paragraphs: list[str]) -> str | None:
    """The first date written on the first page: 2021-07-09, July 9, 2021 or 9 July 2021."""
    for paragraph in paragraphs[:6]:
        if match := _ISO_DATE.search(paragraph):
            return pdf_date("".join(match.groups()))
        if match := _WRITTEN_DATE.search(paragraph):
            day = match.group(1) or match.group(3) or "1"
            month = MONTHS.index(match.group(2).lower()) + 1
            return pdf_date(f"{match.group(4)}{month:02d}{int(day):02d}")
    return None


def _join_pages(pages: list[str]) -> tuple[str, list[int]]:
    text, starts = "", []
    for page in pages:
        if text and page:
            text += PAGE_SEPARATOR
        starts.append(len(text))
        text += page
    return text, starts


def pdf_date(value: str | None) -> str | None:
    """A PDF date ("D:20210709120000+02'00'") as an ISO date ("2021-07-09")."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value or "")
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    try:
        return datetime(int(year), int(month), int(day)).date().isoformat()
    except ValueError:
        return None


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return None if not value or value.lower() in ("(unspecified)", "untitled", "unknown") else value
