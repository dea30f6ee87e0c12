"""Every search has an Atom twin (/search.atom?q=...): the same matches, newest in the knowledge base first."""

import xml.etree.ElementTree as ET

import pytest

from .conftest import crawl, datasette_get, make_datasette
from .sites import RoutedSite, html_page

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(datasette, query: str) -> list[dict]:
    response = datasette_get(datasette, f"/search.atom?{query}")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    return [
        {
            "link": entry.find(f"{ATOM}link").get("href"),
            "title": entry.find(f"{ATOM}title").text,
            "summary": entry.find(f"{ATOM}summary").text,
            "updated": entry.find(f"{ATOM}updated").text,
        }
        for entry in feed.iter(f"{ATOM}entry")
    ]


@pytest.mark.parametrize(
    "query",
    ["q=linear+algebra&mode=keyword", "q=how+much+math&mode=hybrid&person=Andrew+Ng", "q=calculus&mode=semantic"],
)
def test_a_feed_lists_what_the_search_finds(datasette, query):
    first = datasette_get(datasette, f"/search.json?{query}").json()
    every_hit = [
        hit
        for page in range(1, first["pages"] + 1)
        for hit in datasette_get(datasette, f"/search.json?{query}&page={page}").json()["results"]
    ]
    found = entries(datasette, query)
    assert found and len(found) == min(first["total"], 50)
    assert {e["link"].removeprefix("http://localhost") for e in found} <= {hit["reader_url"] for hit in every_hit}
    assert all("**" not in (e["summary"] or "") for e in found)  # the search's match marks are not shown as such


def test_the_search_page_links_its_feed(datasette):
    html = datasette_get(datasette, "/search?q=linear+algebra&mode=keyword&site=Math+in+ML+Notes").text
    assert 'href="/search.atom?q=linear+algebra&amp;mode=keyword&amp;site=Math+in+ML+Notes"' in html
    assert 'rel="alternate" type="application/atom+xml"' in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("mode=keyword", "needs q"),
        ("q=x&mode=fuzzy", "mode must be one of"),
        ("q=x&min_relevance=2", "min_relevance"),
    ],
)
def test_bad_feed_requests_are_400s_that_say_why(datasette, query, message):
    response = datasette_get(datasette, f"/search.atom?{query}")
    assert response.status_code == 400 and message in response.text


def test_a_feed_gains_an_entry_when_a_new_page_is_crawled(db_copy, tmp_path):
    query = "q=tensor+calculus+notation&mode=keyword"
    before = entries(make_datasette(db_copy), query)
    page = html_page(
        "Sample: tensor calculus notation for engineers",
        "Sample content written for the tests: tensor calculus notation &lt;b&gt;is&lt;/b&gt; worth a week, no more, "
        "for engineers who train networks; the rest of the math can wait until a model needs it.",
    )
    with RoutedSite(
        {"/": html_page("Index", "Hub", links=("/notes/tensors.html",)), "/notes/tensors.html": page}
    ) as site:
        sources = f"download_delay: 0\nsources:\n  - name: notes\n    start_urls: ['{site.base_url}/']\n"
        result = crawl(sources + "    allow: ['/notes/']\n", db_copy, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    after = entries(make_datasette(db_copy), query)
    assert len(after) == len(before) + 1
    newest = after[0]
    assert newest["title"] == "Sample: tensor calculus notation for engineers"
    assert "<b>is</b>" in newest["summary"]  # crawled text, escaped in the XML and read back as text
    assert newest["updated"] >= max((e["updated"] for e in before), default="")
