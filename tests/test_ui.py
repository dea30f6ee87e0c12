"""The research UI's pages through Datasette's real app (kb/web/ui.py): data, filters, paging, errors, feeds."""

import xml.etree.ElementTree as ET

import pytest

from kb.web.ui import PAGE_SIZE, marked, text_fragment_url

from .conftest import datasette_get


def search(datasette, query: str) -> dict:
    response = datasette_get(datasette, f"/search.json?{query}")
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_search_json_has_what_the_page_shows(datasette, sample_site):
    data = search(datasette, "q=linear+algebra&mode=keyword")
    assert data["mode"] == "keyword" and data["page"] == 1 and data["total"] == len(data["results"]) > 0
    hit = data["results"][0]
    assert {
        "passage_id",
        "title",
        "url",
        "link",
        "site_name",
        "author",
        "published",
        "snippet",
        "year",
        "speakers",
        "stances",
        "topics",
        "also_published_at",
    } <= set(hit)
    assert hit["link"].startswith(hit["url"] + "#:~:text=")
    assert "**" in hit["snippet"]
    assert {"person", "topic", "stance", "site", "year"} == set(data["facets"])
    # Republished copies: the reprint's passage names the original (and vice versa).
    copies = [h for h in data["results"] if h["also_published_at"]]
    assert copies and all(u.startswith(sample_site.base_url) for h in copies for u in h["also_published_at"])


def test_quotes_in_a_hit_name_their_speaker_and_stance(datasette):
    data = search(datasette, "q=prioritize+foundational&mode=keyword")
    speakers = {s["name"] for hit in data["results"] for s in hit["speakers"]}
    assert "Andrew Ng" in speakers
    assert all(hit["stances"] for hit in data["results"] if hit["speakers"])


@pytest.mark.parametrize("name", ["person", "topic", "stance", "site", "year"])
def test_each_filter_keeps_only_matching_hits(datasette, name):
    everything = search(datasette, "q=math+learning&mode=hybrid")
    value, count = everything["facets"][name][0]
    filtered = search(datasette, f"q=math+learning&mode=hybrid&{name}={value}")
    assert filtered["total"] == count <= everything["total"]
    key = {"person": "speakers", "topic": "topics", "stance": "stances", "site": "site_name", "year": "year"}[name]
    for hit in filtered["results"]:
        values = hit[key] if isinstance(hit[key], list) else [hit[key]]
        values = [v["name"] if isinstance(v, dict) else str(v) for v in values]
        assert value in values


def test_paging_splits_the_results_and_clamps_the_page(datasette):
    first = search(datasette, "q=math&mode=hybrid")
    assert first["total"] > PAGE_SIZE and len(first["results"]) == PAGE_SIZE and first["pages"] >= 2
    second = search(datasette, "q=math&mode=hybrid&page=2")
    assert not {h["passage_id"] for h in first["results"]} & {h["passage_id"] for h in second["results"]}
    last = search(datasette, "q=math&mode=hybrid&page=999")
    assert last["page"] == last["pages"] and last["results"]
    assert search(datasette, "q=math&page=abc")["page"] == 1


def test_bad_search_input(datasette):
    assert datasette_get(datasette, "/search.json?q=math&mode=fuzzy").status_code == 400
    assert search(datasette, "q=")["results"] == [] and search(datasette, "")["total"] == 0
    assert search(datasette, "q=math&person=Nobody+Atall")["total"] == 0
    assert search(datasette, "q=%22%29%28*+OR+NEAR")["mode"] == "hybrid"  # query syntax is just words


def test_pages_render_and_unknown_people_are_404(datasette):
    home = datasette_get(datasette, "/").text
    assert 'name="q"' in home and "Andrew Ng" in home and "/people/" in home
    person_link = home.split('href="/people/')[1].split('"')[0]
    person = datasette_get(datasette, f"/people/{person_link}")
    assert person.status_code == 200 and "<svg" in person.text and "kb-quote" in person.text
    compare = datasette_get(datasette, "/compare?people=Andrew+Ng,Yann+LeCun").text
    assert compare.count('class="kb-compare-person"') == 2
    charts = datasette_get(datasette, "/charts").text
    assert charts.count("<svg") >= 3 and "Documents per month" in charts
    assert datasette_get(datasette, "/people/99999").status_code == 404
    assert datasette_get(datasette, "/people/not-a-number").status_code == 404


@pytest.mark.parametrize(
    "feed, count", [("new_documents", 4), ("new_documents?min_relevance=0", 5), ("new_quotes", 13)]
)  # 16 statements stored (7 quotations, 9 reported), 3 of them again in the reprint
def test_atom_feeds(datasette, feed, count):
    """The sourdough page is not a new document of the knowledge base, unless asked for everything."""
    name, _, query = feed.partition("?")
    response = datasette_get(datasette, f"/kb/{name}.atom?{query}")
    assert response.status_code == 200 and "xml" in response.headers["content-type"]
    feed_element = ET.fromstring(response.content)
    assert feed_element.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = feed_element.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == count
    assert all(e.find("{http://www.w3.org/2005/Atom}link").get("href").startswith("http") for e in entries)


def test_marked_escapes_before_marking():
    assert str(marked("a **b** <script>x</script>")) == "a <mark>b</mark> &lt;script&gt;x&lt;/script&gt;"
    assert str(marked(None)) == ""


def test_text_fragment_links_open_at_the_passage():
    url = text_fragment_url("http://example.org/a#old", "Self-taught: linear algebra, then more & more words here")
    assert (
        url == "http://example.org/a#:~:text=Self%2Dtaught%3A%20linear%20algebra%2C%20then%20more%20%26%20more%20words"
    )
    assert text_fragment_url("http://example.org/a", "") == "http://example.org/a"


def test_off_topic_page_is_hidden_by_default_and_found_with_the_switch(datasette):
    from kb.analysis.relevance import load_relevance

    threshold = load_relevance().threshold
    for mode in ("keyword", "semantic", "hybrid"):
        default = search(datasette, f"q=sourdough+starter+winter&mode={mode}")
        assert default["min_relevance"] == threshold
        assert not any("sourdough" in hit["url"] for hit in default["results"]), mode
        everything = search(datasette, f"q=sourdough+starter+winter&mode={mode}&min_relevance=0")
        assert everything["min_relevance"] == 0
        assert "sourdough" in everything["results"][0]["url"], mode
        assert everything["results"][0]["relevance"] < threshold
        assert all(hit["relevance"] >= threshold for hit in default["results"])
    # The switch is on the page: a link that includes everything, and the way back.
    page = datasette_get(datasette, "/search?q=sourdough+starter&mode=keyword").text
    assert "sourdough" not in page.split('class="kb-results"')[1]
    switch = page.split('class="kb-relevance-switch" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "min_relevance=0" in switch
    included = datasette_get(datasette, switch).text
    assert "sourdough" in included.split('class="kb-results"')[1]
    assert 'name="min_relevance" value="0" checked' in included
    back = included.split('class="kb-relevance-switch" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "min_relevance" not in back


def test_canned_queries_take_min_relevance(datasette):
    rows = datasette_get(datasette, "/kb/search.json?q=sourdough&_shape=array").json()
    assert rows == []
    rows = datasette_get(datasette, "/kb/search.json?q=sourdough&min_relevance=0&_shape=array").json()
    assert rows and all(row["relevance"] < 0.2 for row in rows)
    months = datasette_get(datasette, "/kb/documents_per_month.json?_shape=array").json()
    every_month = datasette_get(datasette, "/kb/documents_per_month.json?min_relevance=0&_shape=array").json()
    assert sum(m["documents"] for m in months) == sum(m["documents"] for m in every_month) - 1


@pytest.mark.parametrize("value", ["abc", "2", "-0.1"])
def test_bad_min_relevance_is_an_error(datasette, value):
    response = datasette_get(datasette, f"/search.json?q=math&min_relevance={value}")
    assert response.status_code == 400 and "min_relevance must be a number from 0 to 1" in response.json()["error"]
    canned = datasette_get(datasette, f"/kb/search.json?q=math&min_relevance={value}&_shape=array")
    assert canned.status_code == 400


def test_documents_table_lists_the_relevant_first_and_facets_by_relevance(datasette):
    data = datasette_get(datasette, "/kb/documents.json?_shape=objects&_facet=relevance_band").json()
    scores = [row["relevance"] for row in data["rows"]]
    assert scores == sorted(scores, reverse=True) and "sourdough" in data["rows"][-1]["url"]
    bands = {f["value"]: f["count"] for f in data["facet_results"]["relevance_band"]["results"]}
    assert bands[0.0] == 1 and sum(bands.values()) == 5


def test_person_page_marks_reported_speech_as_paraphrase(datasette, db):
    koller = next(db.query("select id from people where name = 'Daphne Koller'"))["id"]
    html = datasette_get(datasette, f"/people/{koller}").text
    paraphrase = html.split('class="kb-quote kb-paraphrase"')[1].split("</li>")[0]
    assert "paraphrase</span>" in paraphrase
    assert "pointed out: that people without the usual mathematical background often make mistakes" in paraphrase
    assert "0 quotations · 1 reported statement" in html  # the blockquote after her paragraph is not hers


def test_search_marks_a_speaker_known_only_from_reported_speech(datasette):
    hits = search(datasette, "q=usual+mathematical+background+mistakes&mode=keyword")["results"]
    koller = next(s for hit in hits for s in hit["speakers"] if s["name"] == "Daphne Koller")
    assert koller["paraphrase"] is True
    lecun = next(
        s
        for hit in search(datasette, "q=perhaps+some+more+math&mode=keyword")["results"]
        for s in hit["speakers"]
        if s["name"] == "Yann LeCun"
    )
    assert lecun["paraphrase"] is False


def test_every_page_has_a_json_twin(datasette):
    person = datasette_get(datasette, "/kb/people.json?_shape=array&name=Andrew+Ng").json()[0]
    page = datasette_get(datasette, f"/people/{person['id']}.json")
    assert page.status_code == 200
    data = page.json()
    assert data["person"]["name"] == "Andrew Ng" and data["statements"]
    assert {"kind", "text", "stance", "confidence", "reasons", "topics", "url", "link"} <= set(data["statements"][0])
    missing = datasette_get(datasette, "/people/999999.json")
    assert missing.status_code == 404 and "no person 999999" in missing.json()["error"]
    compared = datasette_get(datasette, "/compare.json?people=Andrew+Ng,Yann+LeCun").json()
    assert {column["person"] for column in compared["columns"]} <= {"Andrew Ng", "Yann LeCun"} and compared["columns"]
    charts = datasette_get(datasette, "/charts.json").json()
    assert set(charts) == {"documents_per_month", "quotes_per_person", "topics_per_person"}
    as_array = datasette_get(datasette, "/search.json?q=math&mode=keyword&_shape=array").json()
    full = datasette_get(datasette, "/search.json?q=math&mode=keyword").json()
    assert isinstance(as_array, list) and as_array == full["results"]
    assert all(isinstance(hit["also_published_at"], list) for hit in as_array)


@pytest.mark.parametrize(
    "path",
    [
        "/kb/search.json?q=math&_shape=array",
        "/kb/semantic_search.json?q=math&_shape=array",
        "/kb/hybrid_search.json?q=math&_shape=array",
        "/kb/passage_details.json?_shape=array&_size=50",
        "/kb/search.json?q=math&_shape=array&_json=snippet",  # a column the caller names is kept
    ],
)
def test_also_published_at_is_a_list_in_every_json_answer(datasette, path):
    rows = datasette_get(datasette, path).json()
    assert rows and all(isinstance(row["also_published_at"], list) for row in rows)
    assert any(row["also_published_at"] for row in rows) or "passage_details" not in path
