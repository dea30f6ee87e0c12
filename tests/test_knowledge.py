"""The knowledge layer: people.yml, and republished copies grouped into works."""

import shutil

import pytest
import sqlite_utils

from kb.analysis.people import Directory, load_people
from kb.analysis.works import group_copies

from .conftest import ROOT, crawl, datasette_get, run_kb
from .sites import Page, RoutedSite, html_page

SEEDS = ROOT.parent / "shared" / "seeds"


def test_people_file_lists_the_seed_people():
    directory = Directory(load_people())
    for mention, name in [
        ("Andrew Ng", "Andrew Ng"),
        ("Ng", "Andrew Ng"),
        ("LeCun", "Yann LeCun"),
        ("Joaquin Quinonero Candela", "Joaquín Quiñonero Candela"),
        ("daphne  koller", "Daphne Koller"),
        ("Luis Serrano", "Luis Serrano"),
        ("Lex Fridman", "Lex Fridman"),
        ("Naval Ravikant", "Naval Ravikant"),
    ]:
        assert directory.find(mention).name == name, mention
    assert directory.find("Andrew") is None  # a bare first name is not a name...
    assert directory.by_signoff("Andrew").name == "Andrew Ng"  # ...except as a letter's sign-off


CONFIG_MISTAKES = [
    ("people", "people:\n  - name: A\n    alias: [B]\n", 3, "did you mean 'aliases'"),
    ("people", "people:\n  - name: A\n    aliases: B\n", 3, "must be a list"),
    (
        "people",
        "people:\n  - name: A\n    aliases: [X]\n  - name: B\n    aliases: [x]\n",
        4,
        "already names A (line 2)",
    ),
    ("people", "people:\n  - aliases: [X]\n", 2, "needs a 'name'"),
    ("people", "persons: []\n", 1, "expected a 'people:' list"),
    ("people", "people: [\n", 2, "not valid YAML"),
    ("topics", "topics:\n  - name: calculus\n    term: [x]\n", 3, "did you mean 'terms'"),
    ("topics", "topics:\n  - name: calculus\n    terms: []\n", 3, "needs a list of 'terms'"),
    ("topics", "topic: []\n", 1, "expected a 'topics:' list"),
    ("stances", "stances:\n  - name: a\n    examples: [x]\n", 1, "at least 2 stances"),
    (
        "stances",
        "stances:\n  - name: a\n    example: [x]\n  - name: b\n    examples: [y]\n",
        3,
        "did you mean 'examples'",
    ),
    (
        "stances",
        "min_similarity: 2\nstances:\n  - {name: a, examples: [x]}\n  - {name: b, examples: [y]}\n",
        1,
        "between -1 and 1",
    ),
]


@pytest.mark.parametrize("which, text, line, fragment", CONFIG_MISTAKES)
def test_config_file_mistakes_name_the_line(tmp_path, which, text, line, fragment):
    from kb.analysis.stance import load_stances
    from kb.analysis.topics import load_topics
    from kb.yamlfile import YamlFileError

    loader = {"people": load_people, "topics": load_topics, "stances": load_stances}[which]
    path = tmp_path / f"{which}.yml"
    path.write_text(text)
    with pytest.raises(YamlFileError) as info:
        loader(path)
    assert str(info.value).startswith(f"{path}:{line}:") and fragment in str(info.value)


def test_people_are_loaded_into_the_table(db):
    rows = {r["name"]: r for r in db["people"].rows if r["verified"]}
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


@pytest.mark.parametrize("name", ["search", "semantic_search", "hybrid_search"])
def test_search_shows_a_republished_passage_once(datasette, name):
    rows = datasette_get(datasette, f"/kb/{name}.json?_shape=array&q=always+nice+to+know+more+math+prioritize").json()
    quoted = [r for r in rows if "necessary to prioritize" in r["snippet"].replace("**", "")]
    assert len(quoted) == 1
    (hit,) = quoted
    assert hit["url"].endswith("/articles/how-much-math.html")  # the original, published first
    assert [u.rsplit("/", 1)[1] for u in hit["also_published_at"]] == ["how-much-math-reprint.html"]


# -- quotes, authors and topics in the database ------------------------------------------------


def test_quotes_are_stored_with_speakers_offsets_and_passages(db):
    rows = list(
        db.query(
            "select q.*, people.name as speaker, documents.text as doc_text, passages.text as passage_text "
            "from quotes q join documents on documents.id = q.document_id "
            "left join people on people.id = q.person_id left join passages on passages.id = q.passage_id"
        )
    )
    quotations = [r for r in rows if r["kind"] == "direct"]
    by_start = {r["quote"][:20]: r for r in quotations}
    assert len(quotations) == 7  # five on the essays, two again on the reprint
    lecun = by_start["Math. Math. Oh and p"]
    assert (lecun["speaker"], lecun["cue"], lecun["speaker_type"]) == ("Yann LeCun", "summed up", "person")
    # Second-hand: the page links the TechCrunch article right after the quotation.
    assert (
        lecun["cites_url"]
        == "https://techcrunch.com/2016/12/01/facebooks-advice-to-students-interested-in-artificial-intelligence/"
    )
    assert by_start["If you cannot derive"]["speaker"] is None  # the page does not say who
    for r in rows:
        assert r["doc_text"][r["char_start"] : r["char_end"]] == r["quote"]
        assert r["quote"] in r["passage_text"]
        if r["speaker_mention"]:
            assert r["doc_text"][r["speaker_start"] : r["speaker_end"]] == r["speaker_mention"]


def test_reported_speech_and_joint_statements_are_stored(db):
    koller = list(
        db.query(
            "select quotes.quote, quotes.cue from quotes join quote_speakers on quote_speakers.quote_id = quotes.id "
            "join people on people.id = quote_speakers.person_id where people.name = 'Daphne Koller' and kind = 'indirect'"
        )
    )
    assert [r["cue"] for r in koller] == ["pointed out"]
    assert koller[0]["quote"].startswith("that people without the usual mathematical background often make mistakes")
    joint = list(
        db.query(
            "select people.name from quotes join quote_speakers on quote_speakers.quote_id = quotes.id "
            "join people on people.id = quote_speakers.person_id where quotes.quote like 'Math. Math.%' order by people.name"
        )
    )
    assert [r["name"] for r in joint] == ["Joaquín Quiñonero Candela", "Yann LeCun"]
    assert db.execute("select count(*) from documents where analysis_note is not null").fetchone()[0] == 0


def test_a_technical_post_adds_no_statements_and_no_people(tmp_path):
    page = (ROOT / "tests" / "pages" / "technical-post.html").read_text(encoding="utf-8")
    with RoutedSite({"/post/": Page(page)}) as site:
        yaml = f"download_delay: 0\nsources:\n  - name: s\n    start_urls: ['{site.base_url}/post/']\n"
        result = crawl(yaml, tmp_path / "kb.db", tmp_path)
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "kb.db")
    assert db["documents"].count == 1
    assert db["quotes"].count == 0
    assert [r["name"] for r in db.query("select name from people where verified = 0")] == []


def test_reanalysis_removes_unverified_people_nothing_refers_to(db_copy):
    db = sqlite_utils.Database(db_copy)
    db["people"].insert({"name": "Send Tweet", "aliases": "[]", "verified": 0})
    db.conn.commit()
    kept_before = {r["name"] for r in db.query("select name from people where verified = 0 and name != 'Send Tweet'")}
    result = run_kb("analyze", "--db", db_copy)
    assert result.returncode == 0, result.stderr
    names = {r["name"] for r in sqlite_utils.Database(db_copy).query("select name from people where verified = 0")}
    assert "Send Tweet" not in names and names == kept_before  # authors and speakers stay


def test_a_missing_spacy_pipeline_stops_analysis_and_crawl_before_anything_is_touched(db_copy, tmp_path):
    env = {"KB_SPACY_PIPELINE": "no_such_pipeline"}
    before = sqlite_utils.Database(db_copy)["quotes"].count
    result = run_kb("analyze", "--db", db_copy, env=env)
    assert result.returncode == 2 and "no_such_pipeline" in result.stderr and "Traceback" not in result.stderr
    assert sqlite_utils.Database(db_copy)["quotes"].count == before
    with RoutedSite({"/": html_page("Home", "Text " * 50)}) as site:
        yaml = f"download_delay: 0\nsources:\n  - name: s\n    start_urls: ['{site.base_url}/']\n"
        sources = tmp_path / "sources.yml"
        sources.write_text(yaml)
        crawled = run_kb("crawl", "--sources", sources, "--db", tmp_path / "new.db", "--no-embed", env=env)
        assert site.requests == []
    assert crawled.returncode == 2 and "no_such_pipeline" in crawled.stderr


def test_authors_resolve_to_people_and_unknown_ones_are_unverified(db):
    rows = {
        r["url"].rsplit("/", 1)[1]: r
        for r in db.query(
            "select documents.url, people.name, people.verified from documents join people on people.id = documents.author_id"
        )
    }
    assert rows["math-first.html"]["name"] == "Tomas Berg"  # from JSON-LD
    assert rows["how-much-math.html"]["name"] == "Priya Raman"  # from <meta name=author>
    assert rows["how-much-math.html"]["verified"] == 0  # invented sample author, not in people.yml


def test_passages_are_tagged_with_math_topics(db):
    topics = {
        (r["start"], r["name"])
        for r in db.query(
            "select substr(passages.text, 1, 30) as start, topics.name from passage_topics "
            "join passages on passages.id = passage_id join topics on topics.id = topic_id"
        )
    }
    lecun = "The bluntest version of that a"
    assert {(lecun, "calculus"), (lecun, "linear algebra"), (lecun, "probability and statistics")} <= topics
    assert not [t for t in topics if "sourdough" in t[0].lower() or "starter" in t[0].lower()]


def test_quotes_are_facetable_by_person_and_kind_in_datasette(datasette):
    data = datasette_get(datasette, "/kb/quotes.json?kind=direct&_facet=person_id&_facet=kind").json()
    counts = {f["label"]: f["count"] for f in data["facet_results"]["person_id"]["results"]}
    assert counts["Andrew Ng"] == 5 and counts["Yann LeCun"] == 1
    everything = datasette_get(datasette, "/kb/quotes.json?_facet=kind").json()
    kinds = {f["value"]: f["count"] for f in everything["facet_results"]["kind"]["results"]}
    assert kinds["direct"] == 7 and kinds["indirect"] >= 5


# -- stances ------------------------------------------------------------------------------------


def test_stance_classifier_on_clear_statements(embedder):
    from kb.analysis.stance import StanceClassifier, load_stances

    classifier = StanceClassifier(load_stances(), embedder)
    labels = [
        s
        for s, _ in classifier.classify_texts(
            [
                "Anyone serious about AI must master calculus and linear algebra before touching a model.",
                "You really don't need much mathematics to start building useful machine learning applications.",
                "Keep the sourdough jar near the oven in winter.",
            ]
        )
    ]
    assert labels == ["essential foundation", "not needed to start", None]


def test_passages_and_quotes_get_stances(db):
    lecun = next(db.query("select stance, stance_confidence from quotes where quote like 'Math. Math.%'"))
    assert lecun["stance"] == "essential foundation" and 0 < lecun["stance_confidence"] <= 1
    sourdough = list(
        db.query(
            "select passages.stance from passages join documents on documents.id = document_id where url like '%sourdough%'"
        )
    )
    assert sourdough and all(r["stance"] is None for r in sourdough)  # about something else


def test_analyze_without_vectors_skips_stances(crawled_db, tmp_path):
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    db = sqlite_utils.Database(path)
    db.execute("delete from passage_vectors")
    db.conn.commit()
    result = run_kb("analyze", "--db", path)
    assert result.returncode == 0 and "stances skipped (no vectors: run kb embed)" in result.stderr


def test_compare_people_canned_query(datasette):
    rows = datasette_get(datasette, "/kb/compare_people.json?_shape=array").json()
    people = {r["person"] for r in rows}
    assert {"Andrew Ng", "Yann LeCun"} <= people
    lecun = [r for r in rows if r["person"] == "Yann LeCun"]
    assert lecun[0]["stance"] == "essential foundation" and lecun[0]["url"].endswith("/articles/math-first.html")
    chosen = datasette_get(datasette, "/kb/compare_people.json?_shape=array&people=Andrew Ng, Yann LeCun").json()
    assert {r["person"] for r in chosen} == {"Andrew Ng", "Yann LeCun"}
    odd = datasette_get(datasette, "/kb/compare_people.json?_shape=array&people=%22%5D%27%20or%201%3D1")
    assert odd.status_code == 200 and odd.json() == []
