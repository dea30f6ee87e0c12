"""PDFs (crawler/pdf.py): extraction, limits and failures, and PDFs crawled beside HTML pages.

Every PDF is written during the test run (tests/pdfs.py, reportlab) from
text written for this project.
"""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from crawler.pdf import PdfError, extract_pdf, looks_like_pdf, pdf_date
from kb.analysis.relevance import load_relevance

from .conftest import crawl, datasette_get
from .pdfs import image_only_pdf, make_pdf
from .sites import Page, RoutedSite, html_page

# A chapter, sample content written for these tests: two pages in the PDF, the same text on a web page.
CHAPTER = [
    [
        "How much mathematics does a machine learning engineer need? Less than the textbooks suggest and more "
        "than the tutorials admit: enough linear algebra to read the shapes of a model, enough calculus to "
        "follow a gradient, enough probability to doubt a result.",
        "Start with vectors and matrices. Every layer of a neural network multiplies a matrix by a vector, and "
        "most bugs in a new model are shapes that do not line up or a transpose in the wrong place.",
    ],
    [
        "Yann LeCun has put the advice to students more bluntly. “Math. Math. Oh and perhaps some more math,” "
        "said Yann LeCun when asked what students interested in AI should study.",
        "Derivatives come next, because training is gradient descent. An engineer who can write down the "
        "derivative of a loss can tell a learning rate that is too large from a bug in the data.",
    ],
]
# The PDF has a heading and an exercise the web page does not: a search finds them only there.
EXERCISE = "Exercise: compute the gradient of a squared error by hand, then check it with finite differences."
PDF_PAGES = [["Chapter 4: Math for engineers", *CHAPTER[0]], [*CHAPTER[1], EXERCISE]]


def chapter_pdf(**kwargs) -> bytes:
    return make_pdf(PDF_PAGES, **kwargs)


# -- extraction ---------------------------------------------------------------


def test_text_pages_and_metadata():
    fields = extract_pdf(
        chapter_pdf(title="Math for engineers", author="Sample Author", created="2021-07-09"),
        "http://127.0.0.1/chapter.pdf",
    )
    assert (fields["title"], fields["author"], fields["published"]) == (
        "Math for engineers",
        "Sample Author",
        "2021-07-09",
    )
    assert fields["media_type"] == "application/pdf"
    text, starts = fields["text"], fields["pages"]
    assert len(starts) == 2 and starts[0] == 0
    # Each written paragraph comes back whole, on the page it was written on.
    for page, paragraphs in enumerate(PDF_PAGES):
        for paragraph in paragraphs:
            at = text.index(paragraph)
            assert sum(start <= at for start in starts) == page + 1
    assert text.count("\n\n") == 5  # six paragraphs, blank-line separated (the page break too)


def test_title_author_and_date_from_the_first_page_when_metadata_has_none():
    data = make_pdf(
        [
            [
                "Why the chain rule matters",
                "By Jane Sample",
                "Published 9 July 2021",
                "Backpropagation is the chain rule, applied layer by layer.",
            ]
        ]
    )
    fields = extract_pdf(data, "http://127.0.0.1/a.pdf")
    assert (fields["title"], fields["author"], fields["published"]) == (
        "Why the chain rule matters",
        "Jane Sample",
        "2021-07-09",
    )


@pytest.mark.parametrize(
    "data, kind",
    [
        (make_pdf([["A locked chapter about matrices."]], user_password="secret"), "encrypted PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntruncated", "broken PDF"),
        (image_only_pdf(), "no text in PDF"),
    ],
)
def test_unreadable_pdfs_fail_with_their_reason(data, kind):
    with pytest.raises(PdfError) as error:
        extract_pdf(data, "http://127.0.0.1/x.pdf")
    assert error.value.kind == kind


def test_limits_on_pages_and_time():
    data = chapter_pdf()
    with pytest.raises(PdfError, match="2 pages, more than the 1-page limit") as error:
        extract_pdf(data, "http://127.0.0.1/x.pdf", max_pages=1)
    assert error.value.kind == "too many pages"
    with pytest.raises(PdfError, match="longer than 0 s") as error:
        extract_pdf(data, "http://127.0.0.1/x.pdf", max_seconds=0)
    assert error.value.kind == "too slow"


def test_signature_and_dates():
    assert looks_like_pdf(b"%PDF-1.4\n...") and looks_like_pdf(b"\n\n  %PDF-1.7")
    assert not looks_like_pdf(b"<html>%PDF-</html>".rjust(2000))
    assert pdf_date("D:20210709120000+02'00'") == "2021-07-09"
    assert pdf_date("D:2019") == "2019-01-01"
    assert pdf_date("D:00000000000000") is None and pdf_date(None) is None and pdf_date("yesterday") is None


# -- crawling -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_site(tmp_path_factory):
    """A site with PDFs next to HTML pages, crawled (embedded and analysed) once."""
    tmp = tmp_path_factory.mktemp("pdf")
    big = make_pdf(
        [[f"Page {n} on gradients and matrices, written to make this file large. " * 12] for n in range(100)]
    )
    routes = {
        "/": html_page(
            "Library",
            "Papers and essays on math in machine learning.",
            links=(
                "/papers/chapter.pdf",
                "/papers/download?id=7",
                "/essays/chapter.html",
                "/papers/locked.pdf",
                "/papers/broken.pdf",
                "/papers/scan.pdf",
                "/papers/big.pdf",
            ),
        ),
        "/papers/chapter.pdf": Page(
            chapter_pdf(title="Math for engineers", author="Sample Author", created="2021-07-09"),
            content_type="application/pdf",
        ),
        # A PDF behind a URL and a content type that do not say so: known by its bytes.
        "/papers/download?id=7": Page(
            make_pdf(
                [
                    [
                        "Notes on eigenvalues for machine learning engineers: "
                        "principal component analysis is an eigenvalue problem."
                    ]
                ]
            ),
            content_type="application/octet-stream",
        ),
        "/essays/chapter.html": html_page("Math for engineers", *CHAPTER[0], *CHAPTER[1]),
        "/papers/locked.pdf": Page(
            make_pdf([["A locked chapter about matrices."]], user_password="secret"), content_type="application/pdf"
        ),
        "/papers/broken.pdf": Page(
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntruncated", content_type="application/pdf"
        ),
        "/papers/scan.pdf": Page(image_only_pdf(), content_type="application/pdf"),
        "/papers/big.pdf": Page(big, content_type="application/pdf"),
        "/listed.pdf": Page(
            make_pdf([["A PDF listed in the sources file: calculus for deep learning."]]),
            content_type="application/pdf",
        ),
    }
    assert len(big) > 0.03 * 2**20
    with RoutedSite(routes) as site:
        yaml = (
            f"download_delay: 0\npdf_max_mb: 0.03\nsources:\n  - name: library\n"
            f"    start_urls: ['{site.base_url}/', '{site.base_url}/listed.pdf']\n"
            f"    allow: ['/essays/']\n    robots_sitemaps: false\n"
        )
        first = crawl(yaml, tmp / "kb.db", tmp, embed=True)
        second = crawl(yaml, tmp / "kb.db", tmp)
        requested = list(site.requests)
    return {"db": tmp / "kb.db", "first": first, "second": second, "base": site.base_url, "requested": requested}


def documents(pdf_site) -> dict[str, dict]:
    db = sqlite_utils.Database(pdf_site["db"])
    return {row["url"].removeprefix(pdf_site["base"]): row for row in db["documents"].rows}


def test_pdfs_are_stored_beside_pages_and_bad_ones_fail(pdf_site):
    first = pdf_site["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    docs = documents(pdf_site)
    assert set(docs) == {"/papers/chapter.pdf", "/papers/download?id=7", "/essays/chapter.html", "/listed.pdf"}
    chapter = docs["/papers/chapter.pdf"]
    assert (chapter["media_type"], chapter["title"], chapter["author"], chapter["published"], chapter["year"]) == (
        "application/pdf",
        "Math for engineers",
        "Sample Author",
        "2021-07-09",
        2021,
    )
    assert docs["/papers/download?id=7"]["media_type"] == "application/pdf"
    assert docs["/essays/chapter.html"]["media_type"] == "text/html"
    db = sqlite_utils.Database(pdf_site["db"])
    failures = {
        row["url"].removeprefix(pdf_site["base"]): (row["kind"], row["reason"]) for row in db["crawl_failures"].rows
    }
    assert {url: kind for url, (kind, _) in failures.items()} == {
        "/papers/locked.pdf": "encrypted PDF",
        "/papers/broken.pdf": "broken PDF",
        "/papers/scan.pdf": "no text in PDF",
        "/papers/big.pdf": "too large",
    }
    assert "no OCR" in failures["/papers/scan.pdf"][1] and "0.03 MB limit" in failures["/papers/big.pdf"][1]
    run = next(db.query("select * from crawl_runs order by id limit 1"))
    assert (run["status"], run["new"], run["failed"]) == ("completed", 4, 4)


def test_passages_of_a_pdf_know_their_page(pdf_site):
    db = sqlite_utils.Database(pdf_site["db"])
    chapter_id = documents(pdf_site)["/papers/chapter.pdf"]["id"]
    pages = {
        row["text"]: row["page"]
        for row in db.query("select text, page from passages where document_id = ?", [chapter_id])
    }
    for number, paragraphs in enumerate(PDF_PAGES, start=1):
        for paragraph in paragraphs:
            assert any(paragraph in text and page == number for text, page in pages.items()), paragraph
    html_id = documents(pdf_site)["/essays/chapter.html"]["id"]
    assert {r["page"] for r in db.query("select page from passages where document_id = ?", [html_id])} == {None}


def test_a_pdf_goes_through_the_whole_pipeline(pdf_site):
    db = sqlite_utils.Database(pdf_site["db"])
    docs = documents(pdf_site)
    chapter = docs["/papers/chapter.pdf"]
    # A quotation attributed from the PDF.
    quotes = list(
        db.query(
            "select quote, people.name from quotes join people on people.id = quotes.person_id where document_id = ?",
            [chapter["id"]],
        )
    )
    assert {"quote": "Math. Math. Oh and perhaps some more math", "name": "Yann LeCun"} in [
        {**q, "quote": q["quote"].rstrip(",")} for q in quotes
    ]
    # The chapter as PDF and as web page: one work.
    assert chapter["work_id"] is not None and chapter["work_id"] == docs["/essays/chapter.html"]["work_id"]
    # Embedded, tagged, scored.
    assert (
        db.execute(
            "select count(*) from passages left join passage_vectors on passage_vectors.passage_id = passages.id "
            "where document_id = ? and passage_vectors.id is null",
            [chapter["id"]],
        ).fetchone()[0]
        == 0
    )
    assert chapter["relevance"] >= load_relevance().threshold
    assert (
        db.execute(
            "select count(*) from passage_topics join passages on passages.id = passage_id where document_id = ?",
            [chapter["id"]],
        ).fetchone()[0]
        > 0
    )


def test_search_links_into_the_pdf_at_the_page(pdf_site):
    from kb.web.serve import make_datasette

    datasette = make_datasette(pdf_site["db"])
    response = datasette_get(datasette, "/search.json?q=finite+differences+exercise&mode=keyword")
    (hit,) = [hit for hit in response.json()["results"] if hit["url"].endswith("/papers/chapter.pdf")]
    assert hit["page"] == 2 and hit["link"] == hit["url"] + "#page=2"
    rows = datasette_get(datasette, "/kb/search.json?q=finite+differences&_shape=array").json()
    assert [row["page"] for row in rows] == [2]
    # A passage the web page shares is shown once, from one copy; a web page's passage has no page.
    response = datasette_get(datasette, "/search.json?q=transpose+in+the+wrong+place&mode=keyword")
    (shared,) = [hit for hit in response.json()["results"] if "transpose" in hit["snippet"]]
    assert shared["also_published_at"]
    assert shared["link"].endswith("#page=1") if shared["url"].endswith(".pdf") else "#:~:text=" in shared["link"]


def test_unchanged_pdfs_are_not_extracted_again(pdf_site):
    second = pdf_site["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    db = sqlite_utils.Database(pdf_site["db"])
    run = next(db.query("select * from crawl_runs order by id desc limit 1"))
    assert (run["new"], run["changed"], run["unchanged"]) == (0, 0, 4)
    # The big PDF was stopped at its headers both times: never downloaded whole.
    assert pdf_site["requested"].count("/papers/big.pdf") == 2


def test_kb_extract_reads_pdfs(tmp_path):
    from .conftest import run_kb

    chapter = tmp_path / "chapter.pdf"
    chapter.write_bytes(chapter_pdf(title="Math for engineers", author="Sample Author"))
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(make_pdf([["A locked chapter."]], user_password="secret"))
    result = run_kb("extract", "--jsonl", chapter, locked)
    assert result.returncode == 1  # one input could not be extracted
    good, bad = [json.loads(line) for line in result.stdout.splitlines()]
    assert (good["title"], good["media_type"], len(good["pages"])) == ("Math for engineers", "application/pdf", 2)
    assert EXERCISE in good["text"]
    assert bad["error"].startswith("encrypted PDF")
    shown = run_kb("extract", chapter)
    assert "  media_type: application/pdf" in shown.stdout and "       pages: 2" in shown.stdout
