"""How well and how fast PDF libraries get the text of a PDF back: the measurement behind crawler/pdf.py.

PDFs are generated from known paragraphs (tests/pdfs.py, reportlab), one-
and two-column, several pages each, a heading on each page and paragraphs
long enough to run on into the next column or page. For every library installed among
pypdfium2 (what the crawler uses), pdfminer.six and pypdf, reported:

- words: how much of the text comes back in order (difflib ratio over the
  words of each PDF, averaged);
- paragraphs: the share of written paragraphs that come back as one
  paragraph each, word for word (what passages and quotations need);
- pages/s, on one core.

PyMuPDF is not measured: it is AGPL, which would bind the project.

    python bench/pdf_extraction.py                  # 40 PDFs of 5 pages
    python bench/pdf_extraction.py --pdfs 4 --pages 2   # quick
    pip install pdfminer.six pypdf                  # to compare with them
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402
from bench.recrawl import CLAIMS, SUBJECTS  # noqa: E402
from tests.pdfs import make_pdf  # noqa: E402


def corpus(pdfs: int, pages: int) -> list[tuple[bytes, list[list[str]]]]:
    """(PDF bytes, paragraphs of each page); every other PDF in two columns."""
    rng = random.Random(7)
    made = []
    for number in range(pdfs):
        # Long paragraphs run across columns and pages; each page starts with a heading.
        written = [
            [
                " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(CLAIMS)}." for _ in range(rng.randint(2, 14)))
                for _ in range(rng.randint(2, 6))
            ]
            for _ in range(pages)
        ]
        headings = [f"Part {n + 1}: {rng.choice(SUBJECTS)}" for n in range(pages)]
        data = make_pdf(written, title=f"Notes {number}", columns=1 + number % 2, headings=headings)
        made.append((data, [[heading, *paragraphs] for heading, paragraphs in zip(headings, written)]))
    return made


def pdfium_pages(data: bytes) -> list[list[str]]:
    import pypdfium2 as pdfium

    from crawler.pdf import page_paragraphs

    document = pdfium.PdfDocument(data)
    return [page_paragraphs(document[i]) for i in range(len(document))]


def pdfminer_pages(data: bytes) -> list[list[str]]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    return [
        [" ".join(box.get_text().split()) for box in page if isinstance(box, LTTextContainer)]
        for page in extract_pages(io.BytesIO(data))
    ]


def pypdf_pages(data: bytes) -> list[list[str]]:
    from pypdf import PdfReader

    # pypdf gives lines, not paragraphs: each line counts as one.
    return [
        [line for line in page.extract_text().splitlines() if line.strip()]
        for page in PdfReader(io.BytesIO(data)).pages
    ]


LIBRARIES = {"pypdfium2": pdfium_pages, "pdfminer.six": pdfminer_pages, "pypdf": pypdf_pages}


def score(extracted: list[list[str]], written: list[list[str]]) -> tuple[float, float]:
    """Over the whole document: paragraphs run on across pages, so pages do not line up."""
    got = [p for page in extracted for p in page]
    want = [p for page in written for p in page]
    words = SequenceMatcher(None, " ".join(got).split(), " ".join(want).split(), autojunk=False).ratio()
    normal = {" ".join(p.split()) for p in got}
    return words, sum(" ".join(p.split()) in normal for p in want) / len(want)


def measure(name: str, made) -> dict | None:
    try:
        extract = LIBRARIES[name]
        extract(made[0][0])
    except ImportError:
        return None
    started = time.perf_counter()
    results = [extract(data) for data, _ in made]
    seconds = time.perf_counter() - started
    scores = [score(got, written) for got, (_, written) in zip(results, made)]
    pages = sum(len(written) for _, written in made)
    return {
        "library": name,
        "words": round(sum(s[0] for s in scores) / len(scores), 4),
        "paragraphs": round(sum(s[1] for s in scores) / len(scores), 4),
        "pages_per_s": round(pages / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdfs", type=int, default=40)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    made = corpus(args.pdfs, args.pages)
    rows = [row for name in LIBRARIES if (row := measure(name, made)) is not None]
    for row in rows:
        print(json.dumps(row), flush=True)
    write_results(
        args.output, "pdf_extraction", {"machine": machine(), "pdfs": args.pdfs, "pages": args.pages, "results": rows}
    )


if __name__ == "__main__":
    main()
