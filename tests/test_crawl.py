"""`kb crawl` against real local HTTP servers, checked in the SQLite file it writes."""

import json
import shutil

import sqlite_utils

from .conftest import crawl
from .sites import Page, RoutedSite, html_page

ARTICLES = [
    "/articles/debugging-with-math.html",
    "/articles/how-much-math.html",
    "/articles/math-first.html",
    "/articles/sourdough.html",
    "/reprints/how-much-math-reprint.html",
]

PARAGRAPH = "Linear algebra and calculus come up again and again when training neural networks. " * 3


def sources_for(site, max_depth=2, allow=("/articles/",), **extra):
    lines = [
        "download_delay: 0",
        "sources:",
        "  - name: test-site",
        f"    start_urls: ['{site.base_url}/']",
        f"    allow: {list(allow)}",
        f"    max_depth: {max_depth}",
    ]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def test_crawl_stores_every_sample_article(db, sample_site):
    rows = list(
        db.query("select url, title, author, published, site_name, language, status from documents order by url")
    )
    assert [r["url"] for r in rows] == sorted(sample_site.base_url + a for a in ARTICLES)
    assert all(r["status"] == "ok" and r["language"] == "en" and r["title"] for r in rows)
    # Hub pages are read for links, not stored; robots.txt keeps the crawler out of /private/.
    urls = " ".join(r["url"] for r in rows)
    assert "about.html" not in urls and "private" not in urls
    assert db.execute("select count(*) from passages").fetchone()[0] >= 25


def test_crawl_run_is_recorded(db):
    (run,) = list(db["crawl_runs"].rows)
    assert run["status"] == "completed" and run["finished"]
    assert (run["new"], run["changed"], run["unchanged"], run["failed"]) == (5, 0, 0, 0)
    assert run["skipped"] == 1  # /private/draft.html, disallowed by robots.txt
    assert run["fetched"] >= 8
    assert json.loads(run["per_source"]) == {"sample-site": {"new": 5}}
    (source,) = list(db["sources"].rows)
    assert source["name"] == "sample-site" and json.loads(source["allow"]) == ["/articles/", "/reprints/"]


def test_recrawl_adds_no_rows(crawled_db, sample_site, tmp_path):
    db_path = tmp_path / "kb.db"
    shutil.copy(crawled_db, db_path)
    before = sqlite_utils.Database(db_path).execute("select count(*) from passages").fetchone()[0]
    result = crawl(sample_site.sources_yaml(), db_path, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 unchanged" in result.stderr
    assert "analysis up to date" in result.stderr  # nothing changed: not analysed again
    db = sqlite_utils.Database(db_path)
    assert db["documents"].count == 5
    assert db.execute("select count(*) from passages").fetchone()[0] == before
    assert db.execute("select count(*) from documents_fts").fetchone()[0] == 5
    last = db.execute("select new, changed, unchanged from crawl_runs order by id desc limit 1").fetchone()
    assert last == (0, 0, 5)


def test_discovery_through_robots_sitemap_feed_and_links(tmp_path):
    routes = {
        "/robots.txt": Page(
            "User-agent: *\nDisallow: /private/\nSitemap: __BASE_URL__/sitemap.xml\n", content_type="text/plain"
        ),
        "/sitemap.xml": Page(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<url><loc>__BASE_URL__/articles/from-sitemap.html</loc></url>"
            "<url><loc>__BASE_URL__/private/secret.html</loc></url></urlset>",
            content_type="application/xml",
        ),
        "/feed.xml": Page(
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            '<entry><title>e</title><link href="__BASE_URL__/articles/from-feed.html"/></entry></feed>',
            content_type="application/atom+xml",
        ),
        "/": html_page("Home", "Welcome.", links=("/hub1.html", "/articles/from-link.html")),
        "/hub1.html": html_page("Hub one", "Links.", links=("/hub2.html",)),
        "/hub2.html": html_page("Hub two", "Links.", links=("/articles/too-deep.html",)),
        "/articles/from-sitemap.html": html_page("From the sitemap", PARAGRAPH),
        "/articles/from-feed.html": html_page("From the feed", PARAGRAPH),
        "/articles/from-link.html": html_page("From a link", PARAGRAPH),
        "/articles/too-deep.html": html_page("Too deep", PARAGRAPH),
        "/private/secret.html": html_page("Secret", PARAGRAPH),
    }
    with RoutedSite(routes) as site:
        yaml = sources_for(site, max_depth=2) + f"    feeds: ['{site.base_url}/feed.xml']\n"
        result = crawl(yaml, tmp_path / "kb.db", tmp_path)
        requested = set(site.requests)
    assert result.returncode == 0, result.stderr[-2000:]
    titles = {r["title"] for r in sqlite_utils.Database(tmp_path / "kb.db")["documents"].rows}
    assert titles == {"From the sitemap", "From the feed", "From a link"}
    assert "/articles/too-deep.html" not in requested  # three hops from the start URL
    assert "/private/secret.html" not in requested  # robots.txt
    assert "/hub2.html" in requested


def test_bad_pages_fail_with_reasons_and_the_crawl_goes_on(tmp_path):
    bad = {
        "/articles/empty.html": (Page(""), "empty page"),
        "/articles/binary.html": (Page(b"\x00\x01\x02\xff" * 64), "not HTML (binary content served as text/html)"),
        "/articles/data.json": (Page('{"a": 1}', content_type="application/json"), "not HTML (application/json)"),
        "/articles/nav-only.html": (Page("<html><body><nav></nav></body></html>"), "no extractable text"),
        "/articles/missing.html": (Page("gone", 404, "text/plain"), "HTTP 404"),
        "/articles/broken.html": (Page("oops", 500, "text/plain"), "HTTP 500"),
    }
    with RoutedSite({}) as other_host:
        routes = {path: page for path, (page, _) in bad.items()}
        links = (*bad, "/articles/good.html", f"{other_host.base_url}/articles/elsewhere.html")
        routes["/"] = html_page("Home", "Index.", links=links)
        routes["/articles/good.html"] = html_page("Good page", PARAGRAPH)
        with RoutedSite(routes) as site:
            result = crawl(sources_for(site), tmp_path / "kb.db", tmp_path)
        assert other_host.requests == []  # links to other hosts are never fetched
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite_utils.Database(tmp_path / "kb.db")
    assert [r["title"] for r in db["documents"].rows] == ["Good page"]
    failures = {r["url"].removeprefix(site.base_url): r["reason"] for r in db["crawl_failures"].rows}
    assert failures == {path: reason for path, (_, reason) in bad.items()}
    run = next(db["crawl_runs"].rows)
    assert (run["status"], run["new"], run["failed"]) == ("completed", 1, len(bad))
    assert f"{len(bad)} failed" in result.stderr


def test_canonical_url_makes_one_row_and_foreign_canonicals_are_ignored(tmp_path):
    canonical = '<link rel="canonical" href="__BASE_URL__/articles/a.html">'
    foreign = '<link rel="canonical" href="http://example.org/stolen.html">'
    routes = {
        "/": html_page("Home", "Index.", links=("/articles/a.html", "/articles/a.html?ref=home", "/articles/b.html")),
        "/articles/a.html": html_page("Page A", PARAGRAPH, head=canonical),
        "/articles/a.html?ref=home": html_page("Page A", PARAGRAPH, head=canonical),
        "/articles/b.html": html_page("Page B", PARAGRAPH, head=foreign),
    }
    with RoutedSite(routes) as site:
        result = crawl(sources_for(site), tmp_path / "kb.db", tmp_path)
        assert "/articles/a.html?ref=home" in site.requests
    assert result.returncode == 0, result.stderr[-2000:]
    urls = sorted(r["url"] for r in sqlite_utils.Database(tmp_path / "kb.db")["documents"].rows)
    assert urls == [f"{site.base_url}/articles/a.html", f"{site.base_url}/articles/b.html"]


def test_sources_typo_fails_before_any_request(tmp_path):
    with RoutedSite({"/": html_page("Home", PARAGRAPH)}) as site:
        yaml = sources_for(site).replace("max_depth", "max_dept")
        result = crawl(yaml, tmp_path / "kb.db", tmp_path)
        assert site.requests == []
    assert result.returncode == 2
    assert "sources-0.yml:6: unknown key 'max_dept' in source (did you mean 'max_depth'?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "kb.db").exists()


def test_database_that_is_not_sqlite_is_refused_untouched(tmp_path):
    db_path = tmp_path / "kb.db"
    db_path.write_text("not a database " * 200)
    with RoutedSite({"/": html_page("Home", PARAGRAPH)}) as site:
        result = crawl(sources_for(site, allow=("/",)), db_path, tmp_path)
        assert site.requests == []
    assert result.returncode == 2
    assert "not a usable SQLite database" in result.stderr
    assert db_path.read_text() == "not a database " * 200


def test_nothing_stored_is_lost_when_the_site_breaks(tmp_path):
    routes = {
        "/": html_page("Home", "Index.", links=("/articles/one.html", "/articles/two.html")),
        "/articles/one.html": html_page("One", PARAGRAPH),
        "/articles/two.html": html_page("Two", PARAGRAPH),
    }
    db_path = tmp_path / "kb.db"
    with RoutedSite(routes) as site:
        assert crawl(sources_for(site), db_path, tmp_path).returncode == 0
        before = list(
            sqlite_utils.Database(db_path).query("select url, text, content_hash from documents order by url")
        )
        for path in routes:
            routes[path] = Page("down for maintenance", 503, "text/plain")
        crawl(sources_for(site), db_path, tmp_path)
    db = sqlite_utils.Database(db_path)
    assert list(db.query("select url, text, content_hash from documents order by url")) == before
    last = db.execute("select failed, new, changed from crawl_runs order by id desc limit 1").fetchone()
    assert last == (1, 0, 0)  # the start page failed; nothing else was reached


def test_max_pages_caps_a_source_but_start_urls_always_go_out(tmp_path):
    articles = {f"/articles/{i}.html": html_page(f"Article {i}", PARAGRAPH) for i in range(20)}
    routes = {"/": html_page("Home", "Index.", links=tuple(articles)), **articles}
    with RoutedSite(routes) as site:
        yaml = (
            sources_for(site, max_pages=5)
            + f"    start_urls: ['{site.base_url}/', '{site.base_url}/articles/19.html']\n"
        )
        yaml = yaml.replace(f"    start_urls: ['{site.base_url}/']\n", "", 1)
        result = crawl(yaml, tmp_path / "kb.db", tmp_path)
        fetched = [p for p in site.requests if p.startswith("/articles/")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "/articles/19.html" in fetched  # listed start URL
    assert len(fetched) == 4  # 5 pages in all: the two start URLs and three found by links
    assert sqlite_utils.Database(tmp_path / "kb.db")["documents"].count == 4
