"""PDFs written during the test run (reportlab), for the crawler's PDF support and bench/pdf_extraction.py.

Every PDF is made from paragraphs we know, so a test can compare what was
extracted with what was written, page by page.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import BaseDocTemplate, Frame, PageBreak, PageTemplate, Paragraph

# reportlab's invariant mode writes this creation date; tests swap in their own (same length).
INVARIANT_DATE = b"D:20000101000000"


def make_pdf(
    pages: list[list[str]],
    title: str | None = None,
    author: str | None = None,
    created: str | None = None,
    columns: int = 1,
    user_password: str | None = None,
    headings: list[str] | None = None,
) -> bytes:
    """A PDF with one page per item of ``pages`` (each a list of paragraphs; a page that
    overflows runs on), in ``columns`` columns. ``created`` ("2021-07-09") is the
    CreationDate (none without it); ``user_password`` encrypts it; ``headings`` puts a heading first on each page."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    encrypt = StandardEncryption(user_password, canPrint=1) if user_password else None
    doc = BaseDocTemplate(buffer, pagesize=A4, title=title or "", author=author or "", invariant=1, encrypt=encrypt)
    width = (doc.width - 12 * (columns - 1)) / columns
    frames = [
        Frame(doc.leftMargin + i * (width + 12), doc.bottomMargin, width, doc.height, id=f"c{i}")
        for i in range(columns)
    ]
    doc.addPageTemplates([PageTemplate(id="page", frames=frames)])
    story = []
    for number, paragraphs in enumerate(pages):
        if number:
            story.append(PageBreak())
        if headings:
            story.append(Paragraph(headings[number], styles["Heading2"]))
        story.extend(Paragraph(_escape(p), styles["BodyText"]) for p in paragraphs)
    doc.build(story)
    data = buffer.getvalue()
    # No date unless asked for: zeros are a date string no reader believes.
    date = created.replace("-", "").encode() if created else b"00000000"
    return data.replace(INVARIANT_DATE, b"D:" + date + b"000000")


def image_only_pdf() -> bytes:
    """A scanned-looking PDF: shapes, no text."""
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for row in range(20):
        canvas.rect(60, 780 - row * 35, 400 - (row % 5) * 40, 12, fill=1)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
