"""Why a result is there (which search found it, at what rank and similarity), and "no close match"
instead of a page of the least distant passages."""

import yaml

from kb.web.serve import make_datasette
from kb.web.ui import CLOSE_MATCH

from .conftest import ROOT, datasette_get


def search(datasette, query: str) -> dict:
    response = datasette_get(datasette, f"/search.json?{query}")
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_each_hit_says_which_search_found_it_and_where(datasette):
    hybrid = search(datasette, "q=how+much+math+do+engineers+need&mode=hybrid")
    assert hybrid["close_match"] and hybrid["results"]
    for hit in hybrid["results"]:
        assert hit["keyword_rank"] or hit["semantic_rank"]
        assert (hit["similarity"] is not None) == bool(hit["semantic_rank"])
    assert any(hit["keyword_rank"] and hit["semantic_rank"] for hit in hybrid["results"])
    keyword = search(datasette, "q=linear+algebra&mode=keyword")
    assert [h["keyword_rank"] for h in keyword["results"]] == list(range(1, len(keyword["results"]) + 1))
    assert all(h["similarity"] is None and h["semantic_rank"] is None for h in keyword["results"])
    semantic = search(datasette, "q=linear+algebra&mode=semantic")
    similarities = [h["similarity"] for h in semantic["results"]]
    assert similarities == sorted(similarities, reverse=True) and similarities[0] == semantic["best_similarity"]
    html = datasette_get(datasette, "/search?q=how+much+math+do+engineers+need&mode=hybrid").text
    assert "Found by keywords (#1)" in html and "meaning (#" in html


def test_a_far_question_says_no_close_match(datasette):
    for mode in ("hybrid", "semantic"):
        far = search(datasette, f"q=sourdough+starter+feeding&mode={mode}")
        assert far["close_match"] is False and far["best_similarity"] < CLOSE_MATCH
        assert far["total"] == 0 and far["results"] == [] and all(not v for v in far["facets"].values())
    html = datasette_get(datasette, "/search?q=sourdough+starter+feeding&mode=hybrid").text
    assert "No close match for “sourdough starter feeding”" in html and "nearest=1" in html
    nearest = search(datasette, "q=sourdough+starter+feeding&mode=hybrid&nearest=1")
    assert nearest["close_match"] is False and nearest["total"] > 0
    feed = datasette_get(datasette, "/search.atom?q=sourdough+starter+feeding&mode=hybrid").text
    assert "<entry>" not in feed
    assert datasette_get(datasette, "/cite.csl.json?q=sourdough+starter+feeding&mode=hybrid").json() == []


def test_a_keyword_search_is_never_far(datasette):
    found = search(datasette, "q=sourdough&mode=keyword&min_relevance=0")
    assert found["close_match"] and found["total"] > 0


def test_the_threshold_is_a_setting(crawled_db, tmp_path):
    metadata = yaml.safe_load((ROOT / "metadata.yml").read_text())
    metadata["plugins"] = {"kb": {"close_match": 0.01}}
    path = tmp_path / "metadata.yml"
    path.write_text(yaml.safe_dump(metadata))
    datasette = make_datasette(crawled_db, path)
    lenient = search(datasette, "q=sourdough+starter+feeding&mode=hybrid")
    assert lenient["close_match"] and lenient["close_match_threshold"] == 0.01 and lenient["total"] > 0
