"""Re-crawls: conditional requests, unchanged pages as no-ops, revisions, pages that disappear."""

import json
from datetime import datetime, timedelta, timezone

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
    return (
        "download_delay: 0\nsources:\n  - name: site\n"
        f"    start_urls: ['{site.base_url}/']\n    allow: ['/articles/']\n"
    )


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
        pages["/articles/a.html"] = article(
            "Page A", "Calculus now matters more than ever for optimisation. " * 4, etag='"a2"'
        )
        result = crawl(sources(site), db_path, tmp_path)
    assert result.returncode == 0 and "1 changed" in result.stderr
    assert "analyzed:" in result.stderr  # a changed page is analysed again
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
    assert (
        db.execute(
            "select count(*) from passages join documents on documents.id = document_id where url like '%/b.html'"
        ).fetchone()[0]
        > 0
    )  # its text is kept
    assert db["crawl_failures"].count == 0


def dated_site(lastmod: dict[str, str], feed_dates: dict[str, str]) -> dict:
    pages = {f"/articles/{name}.html": html_page(f"Page {name}", TEXT + f" On {name}.") for name in "abcd"}
    urls = "".join(
        f"<url><loc>__BASE_URL__/articles/{name}.html</loc>" + (f"<lastmod>{date}</lastmod>" if date else "") + "</url>"
        for name, date in lastmod.items()
    )
    items = "".join(
        f"<item><title>{name}</title><link>__BASE_URL__/articles/{name}.html</link><pubDate>{date}</pubDate></item>"
        for name, date in feed_dates.items()
    )
    return {
        **pages,
        "/sitemap.xml": Page(
            f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
            content_type="application/xml",
        ),
        "/feed.xml": Page(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
            content_type="application/rss+xml",
        ),
    }


def test_sitemap_and_feed_dates_skip_pages_older_than_our_copy_but_are_not_trusted_blindly(tmp_path):
    db_path = tmp_path / "kb.db"
    old, future = "2020-01-01", "2999-01-01T00:00:00+00:00"
    pages = dated_site({"a": old, "b": future, "c": None}, {"d": "Wed, 01 Jan 2020 00:00:00 GMT"})
    with RoutedSite(pages) as site:
        yaml = (
            f"download_delay: 0\nsources:\n  - name: site\n    sitemaps: ['{site.base_url}/sitemap.xml']\n"
            f"    feeds: ['{site.base_url}/feed.xml']\n    allow: ['/articles/']\n"
        )
        assert crawl(yaml, db_path, tmp_path).returncode == 0
        assert sqlite_utils.Database(db_path)["documents"].count == 4

        site.requests.clear()
        second = crawl(yaml, db_path, tmp_path)
        assert second.returncode == 0 and "4 unchanged" in second.stderr
        # a (sitemap) and d (feed) are dated before our copy: the first of them is requested to check
        # the dates (crawler/hints.py), and found unchanged, the other is not requested at all.
        # b's date is in the future and c has none: both are fetched and compared.
        requested = sorted(p for p in site.requests if p.startswith("/articles/"))
        assert requested in (
            ["/articles/a.html", "/articles/b.html", "/articles/c.html"],
            ["/articles/b.html", "/articles/c.html", "/articles/d.html"],
        )

        # a changes, and the sitemap says so: fetched again.
        pages["/articles/a.html"] = html_page("Page a", "Calculus is back in fashion for optimisation. " * 3)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        pages.update(
            {
                k: v
                for k, v in dated_site(
                    {"a": now.isoformat(), "b": future, "c": None}, {"d": "Wed, 01 Jan 2020 00:00:00 GMT"}
                ).items()
                if k.endswith(".xml")
            }
        )
        # d's copy is older than KB_REVISIT_AFTER_DAYS: its old date is not believed any more.
        stale = (now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sqlite_utils.Database(db_path).execute(
            "update documents set last_fetched = ? where url like '%/d.html'", [stale]
        )
        site.requests.clear()
        third = crawl(yaml, db_path, tmp_path)
        assert third.returncode == 0 and "1 changed" in third.stderr
        assert "/articles/a.html" in site.requests and "/articles/d.html" in site.requests
    assert (
        "Calculus is back"
        in next(sqlite_utils.Database(db_path).query("select text from documents where url like '%/a.html'"))["text"]
    )


def lying_sitemap_site(count: int, text: str) -> dict:
    """Articles whose sitemap dates every page 2017-06-21, whatever happens to the pages."""
    pages = {f"/articles/{i}.html": html_page(f"Post {i}", f"{text} Post number {i}.") for i in range(count)}
    urls = "".join(
        f"<url><loc>__BASE_URL__/articles/{i}.html</loc><lastmod>2017-06-21</lastmod></url>" for i in range(count)
    )
    sitemap = Page(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml",
    )
    return {**pages, "/sitemap.xml": sitemap}


def test_dates_that_prove_wrong_stop_being_trusted(tmp_path):
    """A re-published site whose sitemap keeps the old dates: the first check finds the page changed,
    and every page is fetched; dates that prove right keep skipping pages (a sample is checked)."""
    db_path = tmp_path / "kb.db"
    pages = lying_sitemap_site(12, TEXT)
    with RoutedSite(pages) as site:
        yaml = (
            f"download_delay: 0\nsources:\n  - name: blog\n    sitemaps: ['{site.base_url}/sitemap.xml']\n"
            "    allow: ['/articles/']\n"
        )
        assert crawl(yaml, db_path, tmp_path).returncode == 0

        pages.update(lying_sitemap_site(12, "Re-published: the math you need is the math you use. " * 3))
        republished = crawl(yaml, db_path, tmp_path)
        assert republished.returncode == 0 and "12 changed" in republished.stderr
        assert "its sitemap or feed dates were wrong" in republished.stderr
        db = sqlite_utils.Database(db_path)
        assert db.execute("select count(*) from documents where text like '%Re-published:%'").fetchone()[0] == 12
        run = next(db.query("select per_source from crawl_runs order by id desc limit 1"))
        counts = json.loads(run["per_source"])["blog"]
        assert counts["hints contradicted"] >= 1 and counts["changed"] == 12

        site.requests.clear()
        unchanged = crawl(yaml, db_path, tmp_path)  # now the old dates happen to be right
        assert unchanged.returncode == 0 and "12 unchanged" in unchanged.stderr
        assert sorted(p for p in site.requests if p.startswith("/articles/")) == [
            "/articles/0.html",  # the first page the dates skip, and the 11th: checked, found unchanged
            "/articles/10.html",
        ]
        run = next(db.query("select per_source from crawl_runs order by id desc limit 1"))
        counts = json.loads(run["per_source"])["blog"]
        assert counts["hints checked"] == 2 and counts["hints contradicted"] == 0
