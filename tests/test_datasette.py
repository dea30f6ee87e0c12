"""The knowledge base through Datasette's real app: tables, facets, search, escaping."""

import shutil

import pytest

from kb import storage
from kb.web.serve import ServeError, make_datasette

from .conftest import datasette_get


def test_tables_are_public_and_described(datasette):
    data = datasette_get(datasette, "/kb.json").json()
    visible = {t["name"] for t in data["tables"] if not t["hidden"]}
    assert visible == {
        "sources",
        "documents",
        "passages",
        "passage_vectors",
        "people",
        "works",
        "quotes",
        "quote_speakers",
        "topics",
        "passage_topics",
        "revisions",
        "crawl_runs",
        "crawl_failures",
        "analyses",
        "corrections",
    }
    page = datasette_get(datasette, "/kb/documents").text
    assert "One row per article, keyed by its canonical URL" in page


def test_documents_as_json_array(datasette, sample_site):
    rows = datasette_get(datasette, "/kb/documents.json?_shape=array&_sort=published").json()
    assert [r["published"] for r in rows] == ["2023-09-05", "2024-03-12", "2024-04-02", "2024-06-01", "2025-01-20"]
    assert rows[0]["url"] == f"{sample_site.base_url}/articles/math-first.html"
    assert rows[0]["author"] == "Tomas Berg"


def test_documents_facets(datasette):
    facets = datasette_get(datasette, "/kb/documents.json").json()["facet_results"]
    assert {"site_name", "author", "language", "year"} <= set(facets)
    authors = {f["value"]: f["count"] for f in facets["author"]["results"]}
    assert authors == {"Priya Raman": 3, "Tomas Berg": 2}
    years = {f["value"]: f["count"] for f in facets["year"]["results"]}
    assert years == {2023: 1, 2024: 3, 2025: 1}


def test_the_documents_table_is_searchable(datasette):
    """Datasette's search box on documents (documents_fts): a word of a title and one of a text."""
    rows = datasette_get(datasette, "/kb/documents.json?_search=prioritize&_shape=array").json()
    assert len(rows) == 2  # the article and its reprint
    assert all("prioritize" in r["text"].lower() for r in rows)
    [sourdough] = datasette_get(datasette, "/kb/documents.json?_search=sourdough&_shape=array").json()
    assert "sourdough" in sourdough["title"].lower()
    assert datasette_get(datasette, "/kb/documents.json?_search=zymurgy&_shape=array").json() == []


def test_search_ranks_passages_with_title_url_and_snippet(datasette):
    rows = datasette_get(datasette, "/kb/search.json?q=prioritize+foundational&_shape=array").json()
    assert len(rows) == 2  # each on two pages, shown once each (copies collapse)
    assert {r["title"] for r in rows} == {"How much math does a machine learning engineer need?"}
    assert all(r["url"].startswith("http://127.0.0.1:") for r in rows)
    assert any("**prioritize**" in r["snippet"] for r in rows)
    assert rows == sorted(rows, key=lambda r: -r["score"])


def test_search_is_stemmed(datasette):
    rows = datasette_get(datasette, "/kb/search.json?q=derivatives&_shape=array").json()
    texts = " ".join(r["snippet"] for r in rows)
    assert "**derivative**" in texts or "**derivatives**" in texts
    assert len(rows) >= 2  # "derivative" (debugging essay) and "derivatives" (math-first)


@pytest.mark.parametrize(
    "q", ["", "   ", '"unbalanced', "AND OR NOT", "x' or 1=1; drop table documents; --", "数学 🚀"]
)
def test_odd_queries_give_a_sane_result(datasette, q):
    response = datasette_get(datasette, f"/kb/search.json?_shape=array&q={q}")
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert datasette_get(datasette, "/kb/documents.json?_shape=array").json()  # nothing was dropped


def test_search_page_highlights_and_escapes(crawled_db, tmp_path):
    db_path = tmp_path / "kb.db"
    shutil.copy(crawled_db, db_path)
    db = storage.open_db(db_path)
    text = "Hostile page\nA paragraph about eigenvalues <script>alert('x')</script> and <b>bold</b> claims."
    storage.save_document(db, {"url": "http://127.0.0.1:1/evil", "text": text}, [(0, 12), (13, len(text))])
    html = datasette_get(make_datasette(db_path), "/kb/search?q=eigenvalues").text
    assert "<mark>eigenvalues</mark>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "<b>bold</b>" not in html


def test_serving_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match="database not found"):
        make_datasette(tmp_path / "none.db")


def test_broken_metadata_file_names_the_line(crawled_db, tmp_path):
    metadata = tmp_path / "metadata.yml"
    metadata.write_text("title: x\ndatabases:\n  kb: [unclosed\n")
    with pytest.raises(ServeError, match=r"metadata.yml:4: not valid YAML"):
        make_datasette(crawled_db, metadata)
