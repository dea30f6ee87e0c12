"""Re-crawls: conditional requests, unchanged pages as no-ops, revisions, pages that disappear."""

import sqlite_utils

from .conftest import crawl
from .sites import Page, RoutedSite, html_page

TEXT = "Linear algebra and probability come up whenever you read a machine learning paper. " * 3


def article(title: str, text: str = TEXT, etag: str | None = None) -> Page:
    page = html_page(title, text)
    if etag:
        page.headers = {"ETag": etag, "Last-Modified": "Tue, 03 Mar 2026 10:00:00 GMT"}
    return page


def sources(site) -> str:
    return ("download_delay: 0\nsources:\n  - name: site\n"
            f"    start_urls: ['{site.base_url}/']\n    allow: ['/articles/']\n")


def routes() -> dict:
    pages = {
        "/articles/a.html": article("Page A", etag='"a1"'),
        "/articles/b.html": article("Page B", etag='"b1"'),
        "/articles/c.html": article("Page C"),  # no validators: fetched and compared by hash
    }
    return {"/": html_page("Home", "Index.", links=tuple(pages)), **pages}


def test_unchanged_pages_answer_304_and_change_nothing(tmp_path):
    db_path = tmp_path / "kb.db"
    with RoutedSite(routes()) as site:
        assert crawl(sources(site), db_path, tmp_path).returncode == 0
        before = list(sqlite_utils.Database(db_path).query("select id, content_hash, last_changed from documents"))
        site.request_headers.clear()
        result = crawl(sources(site), db_path, tmp_path)
        sent = {h.get("If-None-Match") for h in site.request_headers}
    assert result.returncode == 0
    assert {'"a1"', '"b1"'} <= sent  # conditional requests from validators stored in SQLite
    db = sqlite_utils.Database(db_path)
    run = list(db.query("select new, changed, unchanged, gone from crawl_runs order by id"))[-1]
    assert run == {"new": 0, "changed": 0, "unchanged": 3, "gone": 0}
    assert list(db.query("select id, content_hash, last_changed from documents")) == before
    assert db["revisions"].count == 0


def test_a_changed_page_keeps_its_previous_version(tmp_path):
    db_path = tmp_path / "kb.db"
    pages = routes()
    with RoutedSite(pages) as site:
        crawl(sources(site), db_path, tmp_path)
        pages["/articles/a.html"] = article("Page A", "Calculus now matters more than ever for optimisation. " * 4, etag='"a2"')
        result = crawl(sources(site), db_path, tmp_path)
    assert result.returncode == 0 and "1 changed" in result.stderr
    db = sqlite_utils.Database(db_path)
    (revision,) = db["revisions"].rows
    assert "Linear algebra and probability" in revision["text"] and revision["title"] == "Page A"
    doc = next(db.query("select id, text, etag from documents where url like '%/a.html'"))
    assert "Calculus now matters" in doc["text"] and doc["etag"] == '"a2"'
    passages = [r["text"] for r in db.query("select text from passages where document_id = ?", [doc["id"]])]
    assert all("Linear algebra and probability" not in p for p in passages)


def test_a_page_that_disappears_is_marked_gone_not_deleted(tmp_path):
    db_path = tmp_path / "kb.db"
    pages = routes()
    with RoutedSite(pages) as site:
        crawl(sources(site), db_path, tmp_path)
        pages["/articles/b.html"] = Page("gone", 410, "text/plain")
        result = crawl(sources(site), db_path, tmp_path)
    assert result.returncode == 0 and "1 gone" in result.stderr
    db = sqlite_utils.Database(db_path)
    statuses = {r["url"].rsplit("/", 1)[1]: r["status"] for r in db["documents"].rows}
    assert statuses == {"a.html": "ok", "b.html": "gone", "c.html": "ok"}
    assert db.execute("select count(*) from passages join documents on documents.id = document_id "
                      "where url like '%/b.html'").fetchone()[0] > 0  # its text is kept
    assert db["crawl_failures"].count == 0
