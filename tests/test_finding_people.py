"""A person is found by name or alias in any case or accents: comparison, people pages, the person filter, the API."""

import pytest

from kb import KnowledgeBase
from kb.search.sqlfunctions import name_key, person_named

from .conftest import datasette_get


@pytest.mark.parametrize(
    "a, b",
    [
        ("Yann LeCun", "yann  lecun"),
        ("Joaquín Quiñonero Candela", "joaquin quinonero candela"),
        ("Andrew Y. Ng", "andrew y ng"),
    ],
)
def test_names_compare_without_case_accents_or_punctuation(a, b):
    assert name_key(a) == name_key(b)


def test_a_person_is_named_by_name_or_alias_and_nothing_else():
    aliases = '["LeCun", "Yann Le Cun"]'
    assert person_named("Yann LeCun", aliases, "lecun") == 1
    assert person_named("Yann LeCun", aliases, "Andrew Ng, yann le cun") == 1
    assert person_named("Yann LeCun", aliases, "Yann") == 0  # a first name alone is not a name
    assert person_named("Yann LeCun", "not json", "yann lecun") == 1  # bad aliases: the name still counts
    assert person_named("Yann LeCun", None, "") == 0 and person_named(None, aliases, "lecun") == 0


def test_the_comparison_finds_people_by_alias_and_case(datasette):
    exact = datasette_get(datasette, "/compare.json?people=Yann+LeCun").json()
    for names in ("yann+lecun", "LeCun", "YANN+LECUN"):
        found = datasette_get(datasette, f"/compare.json?people={names}").json()
        assert [c["person"] for c in found["columns"]] == ["Yann LeCun"]
        assert found["columns"] == exact["columns"]
    rows = datasette_get(datasette, "/kb/compare_people.json?people=lecun&_shape=array").json()
    assert rows and {r["person"] for r in rows} == {"Yann LeCun"}


def test_the_comparison_says_who_it_could_not_find(datasette):
    html = datasette_get(datasette, "/compare?people=lecun,Nobody+Atall").text
    assert "No one in the knowledge base is named “Nobody Atall”" in html
    assert "named “lecun”" not in html


def test_people_pages_answer_to_names(datasette):
    person_id = datasette_get(datasette, "/compare.json?people=Yann+LeCun").json()["columns"][0]["person_id"]
    for path, target in (
        ("/people/yann%20lecun", f"/people/{person_id}"),
        ("/people/LeCun.json", f"/people/{person_id}.json"),
    ):
        response = datasette_get(datasette, path)
        assert response.status_code == 302 and response.headers["location"] == target
    assert datasette_get(datasette, "/people/nobody-atall").status_code == 404


def test_the_person_filter_takes_any_case(datasette):
    exact = datasette_get(datasette, "/search.json?q=math&mode=keyword&person=Andrew+Ng").json()
    lower = datasette_get(datasette, "/search.json?q=math&mode=keyword&person=andrew+ng").json()
    assert exact["total"] > 0 and lower["total"] == exact["total"]
    assert [h["passage_id"] for h in lower["results"]] == [h["passage_id"] for h in exact["results"]]


def test_the_python_api_finds_a_person_by_alias(crawled_db):
    kb = KnowledgeBase(crawled_db)
    exact = kb.statements(person="Yann LeCun")
    assert exact and kb.statements(person="lecun") == exact == kb.statements(person="YANN LECUN")
    assert kb.statements(person="Nobody Atall") == []
