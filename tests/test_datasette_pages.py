"""Datasette's own pages of the knowledge base, readable: long cells cut, SQL and column descriptions
out of the way, titles opening the reader; no other database touched."""

import re

from datasette.app import Datasette

from .conftest import datasette_get


def test_table_pages_cut_long_text_and_link_titles_to_the_reader(datasette):
    html = datasette_get(datasette, "/kb/documents").text
    cells = re.findall(r'<td class="col-text[^"]*"[^>]*>(.*?)</td>', html, re.S)
    assert cells and all(len(cell) <= 301 * 1.3 for cell in cells) and any(cell.endswith("…") for cell in cells)
    assert re.search(r'<a href="/documents/\d+" title="Read it in the knowledge base">', html)
    assert "/-/static-plugins/math-ml-kb/datasette-pages.css" in html
    assert "/-/static-plugins/math-ml-kb/datasette-pages.js" in html
    assert datasette_get(datasette, "/-/static-plugins/math-ml-kb/datasette-pages.js").status_code == 200


def test_row_pages_show_the_whole_text(datasette, crawled_db):
    import sqlite_utils

    text = sqlite_utils.Database(crawled_db)["documents"].get(1)["text"]
    html = datasette_get(datasette, "/kb/documents/1").text
    assert text.split("\n")[-1][-40:].replace("’", "&#39;")[:10] in html.replace("’", "&#39;")
    assert "…" not in re.search(r'<td class="col-text[^"]*"[^>]*>(.*?)</td>', html, re.S).group(1)


def test_canned_queries_open_without_their_sql(datasette):
    body = datasette_get(datasette, "/kb/search?q=calculus").text.split("</head>")[1]
    assert "_show_sql=1" in body
    assert "kb_bm25(" not in body  # the query's SQL is not on the page until asked for
    shown = datasette_get(datasette, "/kb/search?q=calculus&_show_sql=1").text.split("</head>")[1]
    assert "kb_bm25(" in shown


def test_another_database_is_left_alone(tmp_path):
    import sqlite_utils

    other = tmp_path / "other.db"
    sqlite_utils.Database(other)["documents"].insert({"id": 1, "title": "Not ours", "text": "x" * 3000})
    ds = Datasette([str(other)])
    html = datasette_get(ds, "/other/documents").text
    assert "datasette-pages.css" not in html and 'href="/documents/1"' not in html
