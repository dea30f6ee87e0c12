"""Discussion threads: a Hacker News item (Algolia's items API) and a Reddit thread (.json) crawled into comments.

The threads are sample content written for these tests; the handles in them are invented.
"""

import json

import pytest
import sqlite_utils

from crawler.sources import SourcesError, parse_sources
from crawler.threads import read_thread
from crawler.transcripts import TranscriptError

from .conftest import crawl
from .sites import Page, RoutedSite


def hn_comment(id_, author, text, created, children=()):
    return {"id": id_, "author": author, "text": text, "created_at_i": created, "points": None, "children": children}


def hn_thread(*extra):
    return {
        "id": 1,
        "title": "Sample thread: how much linear algebra before your first model?",
        "created_at_i": 1700000000,
        "author": "poster",
        "children": [
            hn_comment(
                2,
                "ada_q",
                "<p>Sample comment: matrix multiplication first, the rest when a problem needs it.</p>",
                1700001000,
                [
                    hn_comment(3, None, None, 1700001100),  # deleted
                    hn_comment(4, "tberg", "I disagree: statistics matters more &amp; sooner.", 1700001200),
                ],
            ),
            hn_comment(5, "mlnewbie", "Which book covers <i>just enough</i> calculus?", 1700001050),
            *extra,
        ],
    }


def reddit_comment(id_, author, body, created, score, replies=""):
    permalink = f"/r/learnml/comments/abc/sample/{id_}/"
    data = {"id": id_, "author": author, "body": body, "created_utc": created, "score": score, "permalink": permalink}
    return {"kind": "t1", "data": {**data, "parent_id": "t3_abc", "replies": replies}}


REDDIT = [
    {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"title": "Sample: do I need measure theory?",
                                                                          "created_utc": 1690000000}}]}},
    {"kind": "Listing", "data": {"children": [
        reddit_comment("c1", "quill_fan", "Sample comment: not for applied work.", 1690000100, 12, {
            "kind": "Listing", "data": {"children": [reddit_comment("c3", "[deleted]", "[deleted]", 1690000300, 1)]}}),
        reddit_comment("c2", "someone", "[removed]", 1690000200, 0),
        reddit_comment("c4", "stats_prof", "It helps to read probability papers, nothing more.", 1690000400, 5),
        {"kind": "more", "data": {"children": ["c5", "c6"]}},
    ]}},
]  # fmt: skip

BIG = {"id": 50, "title": "Sample: a very long thread", "created_at_i": 1700000000, "children": [
    hn_comment(100 + n, f"user{n}", f"Sample comment number {n}.", 1700000000 + n) for n in range(50_000)]}  # fmt: skip


@pytest.fixture(scope="module")
def thread_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("threads")
    routes = {
        "/api/v1/items/1": Page(json.dumps(hn_thread()), content_type="application/json"),
        "/api/v1/items/9": Page('{"error": "not a thread"}', content_type="application/json"),
        "/api/v1/items/50": Page(json.dumps(BIG), content_type="application/json"),
        "/r/learnml/comments/abc/sample/.json": Page(json.dumps(REDDIT), content_type="application/json"),
    }
    with RoutedSite(routes) as site:
        base = site.base_url
        yaml = (
            "download_delay: 0\nsources:\n"
            f"  - name: hn\n    type: hn\n    robots_sitemaps: false\n    max_comments: 20\n"
            f"    start_urls: ['{base}/api/v1/items/1', '{base}/api/v1/items/9', '{base}/api/v1/items/50']\n"
            f"  - name: reddit\n    type: reddit\n    robots_sitemaps: false\n"
            f"    start_urls: ['{base}/r/learnml/comments/abc/sample/.json']\n"
        )
        first = crawl(yaml, tmp / "kb.db", tmp)
        before = comments(tmp / "kb.db", "https://news.ycombinator.com/item?id=1")
        statements_before = statements(tmp / "kb.db", "https://news.ycombinator.com/item?id=1")
        later = hn_comment(6, "late_reply", "Sample comment added a day later: eigenvalues, eventually.", 1700090000)
        routes["/api/v1/items/1"] = Page(json.dumps(hn_thread(later)), content_type="application/json")
        second = crawl(yaml, tmp / "kb.db", tmp)
    return {
        "db": tmp / "kb.db",
        "first": first,
        "second": second,
        "base": base,
        "before": before,
        "statements_before": statements_before,
    }


def statements(path, url: str) -> list[tuple]:
    return (
        sqlite_utils.Database(path)
        .execute(
            "select q.id, q.kind, q.quote from quotes q join documents d on d.id = q.document_id where d.url = ? "
            "order by q.id",
            [url],
        )
        .fetchall()
    )


def comments(path, url: str) -> list[dict]:
    return list(
        sqlite_utils.Database(path).query(
            "select passage_id, speaker, comment, link, text from passage_details where url = ? order by passage_id",
            [url],
        )
    )


def test_a_hacker_news_thread_is_one_document_of_comments_in_the_order_written(thread_site):
    assert thread_site["first"].returncode == 0, thread_site["first"].stderr[-3000:]
    rows = thread_site["before"]
    assert [(r["speaker"], r["comment"], r["link"]) for r in rows] == [
        ("ada_q (Hacker News)", "2", "https://news.ycombinator.com/item?id=2"),
        ("mlnewbie (Hacker News)", "5", "https://news.ycombinator.com/item?id=5"),
        ("tberg (Hacker News)", "4", "https://news.ycombinator.com/item?id=4"),
    ]
    assert rows[2]["text"] == "tberg (Hacker News): I disagree: statistics matters more & sooner."
    db = sqlite_utils.Database(thread_site["db"])
    document = db.execute(
        "select title, site_name, description, segments from documents where url = ?",
        ["https://news.ycombinator.com/item?id=1"],
    ).fetchone()
    assert document[:3] == (
        "Sample thread: how much linear algebra before your first model?",
        "Hacker News",
        "4 comments kept of 5; 1 deleted or removed",  # the grown thread, after the second crawl
    )
    assert {s["parent"] for s in json.loads(document[3])} == {"1", "2"}


def test_comment_authors_are_pseudonymous_people_with_their_comments_as_statements(thread_site):
    db = sqlite_utils.Database(thread_site["db"])
    rows = db.execute(
        "select p.name, p.verified, p.pseudonym, q.kind from quotes q join people p on p.id = q.person_id "
        "join documents d on d.id = q.document_id where d.site_name = 'Reddit' order by q.char_start"
    ).fetchall()
    assert rows == [("u/quill_fan", 0, 1, "comment"), ("u/stats_prof", 0, 1, "comment")]
    reddit = comments(thread_site["db"], f"{thread_site['base']}/r/learnml/comments/abc/sample/")
    assert reddit[0]["link"] == f"{thread_site['base']}/r/learnml/comments/abc/sample/c1/"


def test_a_thread_that_grew_adds_only_its_new_comments(thread_site):
    assert thread_site["second"].returncode == 0, thread_site["second"].stderr[-3000:]
    after = comments(thread_site["db"], "https://news.ycombinator.com/item?id=1")
    assert after[:3] == thread_site["before"]  # the same rows, ids and all
    assert [(r["speaker"], r["comment"]) for r in after[3:]] == [("late_reply (Hacker News)", "6")]
    # The statements of the earlier comments keep their rows (and so their stances); one is new.
    earlier, now = (
        thread_site["statements_before"],
        statements(thread_site["db"], "https://news.ycombinator.com/item?id=1"),
    )
    assert len(earlier) >= 3 and now[: len(earlier)] == earlier
    assert [kind for _, kind, _ in now[len(earlier) :]] == ["comment"]


def test_bad_and_huge_threads_fail_with_their_kind_and_the_run_goes_on(thread_site):
    db = sqlite_utils.Database(thread_site["db"])
    failures = {
        (row["url"].removeprefix(thread_site["base"]), row["kind"], row["reason"])
        for row in db.query("select * from crawl_failures where run_id = 1")
    }
    assert failures == {
        ("/api/v1/items/9", "not a thread", "not a hn thread: ValueError: no item with children"),
        ("/api/v1/items/50", "thread capped", "kept the first 20 of 50,000 comments (max_comments)"),
    }
    big = db.execute("select count(*) from passages p join documents d on d.id = p.document_id where d.url = ?",
                     ["https://news.ycombinator.com/item?id=50"]).fetchone()[0]  # fmt: skip
    assert big == 20


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": 1}', b'[{"kind": "Listing"}]'])
def test_what_is_not_a_thread_is_named(body):
    for kind in ("hn", "reddit"):
        with pytest.raises(TranscriptError) as error:
            read_thread(kind, body, "https://example.org/r/x/comments/1/t/.json", 10)
        assert error.value.kind == "not a thread"


@pytest.mark.parametrize(
    "entry, message",
    [
        ("max_comments: 10", ":4: source 's': 'max_comments' is for hn and reddit"),
        ("type: hn\n    max_comments: 0", ":5: source 's': 'max_comments' must be a whole number >= 1"),
    ],
)
def test_bad_thread_sources_name_file_and_line(entry, message):
    with pytest.raises(SourcesError, match=message):
        parse_sources(f"sources:\n  - name: s\n    start_urls: [http://127.0.0.1:9/]\n    {entry}\n", "sources.yml")


def test_the_research_ui_links_a_comment_to_its_page(thread_site):
    from kb.web.serve import make_datasette

    from .conftest import datasette_get

    page = datasette_get(make_datasette(thread_site["db"]), "/search?q=probability+papers&mode=keyword&min_relevance=0")
    link = f"{thread_site['base']}/r/learnml/comments/abc/sample/c4/"
    assert f'<a class="kb-comment" href="{link}">comment</a> by u/stats_prof' in page.text


def test_a_person_page_links_each_comment_to_its_page(thread_site):
    from kb.web.serve import make_datasette

    from .conftest import datasette_get

    db = sqlite_utils.Database(thread_site["db"])
    [(person,)] = db.execute("select id from people where name = 'u/stats_prof'").fetchall()
    page = datasette_get(make_datasette(thread_site["db"]), f"/people/{person}.json").json()
    assert [s["link"] for s in page["statements"]] == [f"{thread_site['base']}/r/learnml/comments/abc/sample/c4/"]
