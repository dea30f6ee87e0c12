"""The knowledge layer: people.yml, and republished copies grouped into works."""

import asyncio
from pathlib import Path

import pytest
import sqlite_utils

from kb.people import DEFAULT_PEOPLE_FILE, Directory, PeopleError, load_people
from kb.works import group_copies

from .conftest import ROOT, crawl, run_kb
from .sites import RoutedSite, html_page

SEEDS = ROOT.parent / "shared" / "seeds"


def test_people_file_lists_the_seed_people():
    directory = Directory(load_people())
    for mention, name in [
        ("Andrew Ng", "Andrew Ng"), ("Ng", "Andrew Ng"), ("LeCun", "Yann LeCun"),
        ("Joaquin Quinonero Candela", "Joaquín Quiñonero Candela"), ("daphne  koller", "Daphne Koller"),
        ("Luis Serrano", "Luis Serrano"), ("Lex Fridman", "Lex Fridman"), ("Naval Ravikant", "Naval Ravikant"),
    ]:
        assert directory.find(mention).name == name, mention
    assert directory.find("Andrew") is None  # a bare first name is not a name...
    assert directory.by_signoff("Andrew").name == "Andrew Ng"  # ...except as a letter's sign-off


@pytest.mark.parametrize("text, line, fragment", [
    ("people:\n  - name: A\n    alias: [B]\n", 3, "did you mean 'aliases'"),
    ("people:\n  - name: A\n    aliases: B\n", 3, "must be a list"),
    ("people:\n  - name: A\n    aliases: [X]\n  - name: B\n    aliases: [x]\n", 4, "already names A (line 2)"),
    ("people:\n  - aliases: [X]\n", 2, "needs a 'name'"),
    ("persons: []\n", 1, "expected a 'people:' list"),
    ("people: [\n", 2, "not valid YAML"),
])
def test_people_file_mistakes_name_the_line(tmp_path, text, line, fragment):
    path = tmp_path / "people.yml"
    path.write_text(text)
    with pytest.raises(PeopleError) as info:
        load_people(path)
    assert str(info.value).startswith(f"{path}:{line}:") and fragment in str(info.value)


def test_people_are_loaded_into_the_table(db):
    rows = {r["name"]: r for r in db["people"].rows}
    assert len(load_people()) == len(rows)
    assert rows["Andrew Ng"]["verified"] == 1 and rows["Andrew Ng"]["signoff"] == "Andrew"


def test_a_broken_people_file_stops_a_crawl_before_any_request(tmp_path):
    people = tmp_path / "people.yml"
    people.write_text("people:\n  - name: A\n    affiliaton: X\n")
    with RoutedSite({"/": html_page("Home", "Text " * 50)}) as site:
        yaml = f"download_delay: 0\nsources:\n  - name: s\n    start_urls: ['{site.base_url}/']\n"
        result = crawl(yaml, tmp_path / "kb.db", tmp_path, "--people", people)
        assert site.requests == []
    assert result.returncode == 2 and f"{people}:3: unknown key 'affiliaton'" in result.stderr


# -- works ----------------------------------------------------------------------------------

@pytest.mark.skipif(not SEEDS.exists(), reason="shared/seeds is not beside the project")
def test_seed_copies_are_one_work_and_other_essays_are_not():
    documents = [(int(p.name[:3]), p.read_text()) for p in sorted(SEEDS.glob("*.txt"))]
    # 000, 001, 002: one essay published three times; 003: another letter by the same
    # author; 004: another author's article.
    assert group_copies(documents) == [[0, 1, 2], [3], [4]]


def test_copies_need_real_overlap():
    essay = " ".join(f"sentence {i} about gradient descent and linear algebra." for i in range(60))
    quote = " ".join(essay.split()[:30])  # a blurb quoting the opening
    edited = essay.replace("sentence 5 ", "line five ").replace("sentence 40 ", "line forty ")
    other = " ".join(f"paragraph {i} about probability and statistics in practice." for i in range(60))
    assert group_copies([(1, essay), (2, quote), (3, edited), (4, other), (5, "")]) == [[1, 3], [2], [4], [5]]


def test_sample_site_reprint_shares_a_work(db):
    rows = {r["url"].rsplit("/", 1)[1]: r["work_id"] for r in db["documents"].rows}
    assert rows["how-much-math.html"] == rows["how-much-math-reprint.html"]
    assert len(set(rows.values())) == 4
    work = db["works"].get(rows["how-much-math.html"])
    assert work["copies"] == 2 and work["first_published"] == "2024-03-12"
    assert work["title"] == "How much math does a machine learning engineer need?"


def test_analyze_twice_changes_nothing(db_copy):
    before = list(sqlite_utils.Database(db_copy).query("select id, work_id from documents order by id"))
    result = run_kb("analyze", "--db", db_copy)
    assert result.returncode == 0 and "1 published more than once" in result.stderr
    assert list(sqlite_utils.Database(db_copy).query("select id, work_id from documents order by id")) == before


def get(ds, path):
    async def fetch():
        await ds.invoke_startup()
        return await ds.client.get(path)
    return asyncio.run(fetch())


@pytest.mark.parametrize("name", ["search", "semantic_search", "hybrid_search"])
def test_search_shows_a_republished_passage_once(datasette, name):
    rows = get(datasette, f"/kb/{name}.json?_shape=array&q=always+nice+to+know+more+math+prioritize").json()
    quoted = [r for r in rows if "necessary to prioritize" in r["snippet"].replace("**", "")]
    assert len(quoted) == 1
    (hit,) = quoted
    assert hit["url"].endswith("/articles/how-much-math.html")  # the original, published first
    assert [u.rsplit("/", 1)[1] for u in __import__("json").loads(hit["also_published_at"])] == [
        "how-much-math-reprint.html"]
