"""A republished statement counts once everywhere: home page, charts, person pages, the comparison, the feed.

The sample site has a reprint of one article, so Andrew Ng's statements are stored twice each there."""

import re
import xml.etree.ElementTree as ET

import pytest

from kb import storage

from .conftest import datasette_get

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def distinct(crawled_db):
    """Andrew Ng's distinct statements (person_statements), and the rows stored for them."""
    db = storage.open_db(crawled_db)
    try:
        person_id = db.execute("select id from people where name = 'Andrew Ng'").fetchone()[0]
        rows = db.execute(
            "select kind, published from person_statements where person_id = ? and kind != 'written'", [person_id]
        ).fetchall()
        stored = db.execute("select count(*) from quote_speakers where person_id = ?", [person_id]).fetchone()[0]
    finally:
        db.close()
    return {"id": person_id, "rows": rows, "stored": stored}


def test_the_sample_holds_copies_of_andrew_ngs_statements(distinct):
    assert len(distinct["rows"]) < distinct["stored"]  # else this file tests nothing


def test_home_page_and_charts_count_each_statement_once(datasette, distinct):
    home = datasette_get(datasette, "/").text
    shown = re.search(
        rf'href="/people/{distinct["id"]}">Andrew Ng</a> <span class="kb-muted" data-statements="(\d+)"', home
    )
    assert int(shown.group(1)) == len(distinct["rows"])
    charts = datasette_get(datasette, "/charts.json").json()
    (row,) = [r for r in charts["quotes_per_person"] if r["person"] == "Andrew Ng"]
    assert row["quotes"] == len(distinct["rows"])
    assert row["quotations"] == sum(kind in ("direct", "spoken", "comment") for kind, _ in distinct["rows"])


def test_person_page_and_comparison_count_each_statement_once(datasette, distinct):
    person = datasette_get(datasette, f"/people/{distinct['id']}.json").json()
    assert person["quote_count"] + person["reported_count"] == len(distinct["rows"])
    # per year: by each statement's earliest copy
    years = {}
    for _, published in distinct["rows"]:
        if published:
            years[published[:4]] = years.get(published[:4], 0) + 1
    assert person["per_year"] == years
    compared = datasette_get(datasette, "/compare.json?people=Andrew+Ng").json()
    counted = sum(s["statements"] for c in compared["columns"] for s in c["stances"])
    by_date = [st for c in compared["columns"] for s in c["stances"] for st in s["by_date"]]
    assert counted == len(by_date) and len({(st["kind"], st["text"]) for st in by_date}) == len(by_date)


def test_the_new_statements_feed_lists_a_reprinted_statement_once(datasette):
    rows = datasette_get(datasette, "/kb/new_quotes.json?_shape=array").json()
    texts = [(r["kind"], r["atom_content"].strip().lower()) for r in rows]
    assert rows and len(texts) == len(set(texts))
    feed = ET.fromstring(datasette_get(datasette, "/kb/new_quotes.atom").content)
    assert len(list(feed.iter(f"{ATOM}entry"))) == len(rows)
