"""Extraction, field by field, on the sample site's pages and on bad input."""

import json

import pytest

from crawler.extract import ExtractionError, extract_article
from kb.demo import SAMPLE_SITE

from .conftest import run_kb

EXPECTED = {
    "articles/how-much-math.html": {
        "title": "How much math does a machine learning engineer need?",
        "author": "Priya Raman",  # <meta name="author">
        "published": "2024-03-12",  # article:published_time
        "site_name": "Math in ML Notes",
        "language": "en",
        "description": "Prioritise the mathematics your decisions depend on: a sample essay on learning math for machine learning.",
        "first_words": "Every few weeks a reader asks me",
    },
    "articles/math-first.html": {
        "title": "Calculus first: the case for learning the math before the models",
        "author": "Tomas Berg",  # JSON-LD only
        "published": "2023-09-05",  # JSON-LD datePublished
        "site_name": "Math in ML Notes",
        "language": "en",
        "description": "A sample essay collecting the arguments for learning calculus, linear algebra and statistics early.",
        "first_words": "Not everyone agrees that engineers",
    },
    "reprints/how-much-math-reprint.html": {
        # <title> says "Reprint: ..."; the article's own <h1> is the better title.
        "title": "How much math do you need to know for machine learning?",
        "author": "Priya Raman",
        "published": "2024-04-02",
        "site_name": "Math in ML Notes Reprints",
        "language": "en",
        "description": "A republished copy of a sample essay on learning math for machine learning.",
        "first_words": "This essay first appeared on Math in ML Notes",
    },
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_fields_of_sample_pages_over_http(sample_site, path):
    url = f"{sample_site.base_url}/{path}"
    result = run_kb("extract", "--jsonl", url)
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    expected = EXPECTED[path]
    assert record["input"] == url
    assert record["url"] == url  # the page's rel=canonical
    for field in ("title", "author", "published", "site_name", "language", "description"):
        assert record[field] == expected[field], field
    assert expected["first_words"] in record["text"]
    # Navigation and footer boilerplate are not part of the main text.
    assert "Sample content written for the math-in-ML" not in record["text"]
    assert "Home" not in record["text"].split("\n")


def test_text_keeps_paragraphs_and_curly_quotes():
    html = (SAMPLE_SITE / "articles/how-much-math.html").read_text()
    text = extract_article(html, "http://127.0.0.1:1/articles/how-much-math.html")["text"]
    paragraphs = text.split("\n")
    assert len(paragraphs) == 6  # heading + five paragraphs
    assert "“It’s always nice to know more math!" in text


def test_language_falls_back_to_http_header():
    html = "<html><body><article><p>" + "Ein Absatz über Mathematik. " * 10 + "</p></article></body></html>"
    assert extract_article(html, "http://x.org/a", content_language="de-DE")["language"] == "de"
    assert extract_article(html, "http://x.org/a")["language"] is None


@pytest.mark.parametrize(
    "body, reason",
    [
        ("", "empty page"),
        ("   \n ", "empty page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("<html><body><nav></nav></body></html>", "no extractable text"),
        ("<<<>>>", "could not be parsed"),
    ],
)
def test_bad_pages_raise_with_reason(body, reason):
    with pytest.raises(ExtractionError, match=reason):
        extract_article(body, "http://x.org/a")


def test_cli_reports_each_bad_input_and_continues(tmp_path, sample_site):
    empty = tmp_path / "empty.html"
    empty.write_text("")
    good = SAMPLE_SITE / "articles/sourdough.html"
    result = run_kb("extract", "--jsonl", empty, tmp_path / "missing.html", good, f"{sample_site.base_url}/robots.txt")
    assert result.returncode == 1  # some inputs failed
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("error") for r in records] == [
        "empty page",
        "no such file",
        None,
        "not HTML or PDF (text/plain)",
    ]
    assert records[2]["title"] == "Keeping a sourdough starter alive through the winter"


def test_cli_human_output(sample_site):
    result = run_kb("extract", f"{sample_site.base_url}/articles/sourdough.html")
    assert result.returncode == 0
    assert "author: Tomas Berg" in result.stdout
    assert "published: 2024-06-01" in result.stdout


def test_kb_extract_decodes_bytes_exactly_as_the_crawl_stores_them(tmp_path):
    """One UTF-8 page with a broken byte, served with a wrong charset: crawled, and given to `kb extract`
    as a file and as the same URL; all three texts are the same, and the accents survive."""
    import sqlite3

    from .conftest import crawl
    from .sites import Page, RoutedSite

    paragraph = "Café owners and naïve learners both ask how much linear algebra a model needs, and why."
    body = (
        f"<html><head><title>Cafe notes</title></head><body><article><h1>Cafe notes</h1>"
        f"<p>{paragraph}</p><p>A stray byte \xff follows, then more text about calculus and"
        " gradients for the extractor to keep.</p></article></body></html>"
    ).encode("utf-8")
    body = body.replace(b"\xc3\xbf", b"\xff")  # a lone byte that is not UTF-8
    (tmp_path / "page.html").write_bytes(body)
    routes = {
        "/": Page('<a href="/articles/cafe.html">x</a>'),
        "/articles/cafe.html": Page(body, content_type="text/html; charset=iso-8859-1"),
    }
    with RoutedSite(routes) as site:
        sources = (
            "download_delay: 0\nsources:\n  - name: cafe\n"
            f"    start_urls: ['{site.base_url}/']\n    allow: ['/articles/']\n"
        )
        assert crawl(sources, tmp_path / "kb.db", tmp_path).returncode == 0
        from_url = run_kb("extract", "--jsonl", f"{site.base_url}/articles/cafe.html")
    from_file = run_kb("extract", "--jsonl", tmp_path / "page.html")
    with sqlite3.connect(tmp_path / "kb.db") as conn:
        (stored,) = conn.execute("select text from documents").fetchone()
    assert "Café owners and naïve learners" in stored
    assert json.loads(from_url.stdout)["text"] == stored
    assert json.loads(from_file.stdout)["text"] == stored
