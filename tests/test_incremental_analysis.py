"""`kb analyze` derives only what changed, and ends where a from-scratch analysis ends.

The sample site's crawled database is changed the ways months of cron runs
change it (a page edited, a page added, a page gone), the configuration
files are edited, an analysis is cut short by its time budget; then the
tables of the incremental analyses are compared, table by table, with those
of `--all` (everything derived again) on the same data.
"""

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from embeddings.chunking import split_passages
from kb import KnowledgeBase, schema, storage
from kb.analysis.people import DEFAULT_PEOPLE_FILE
from kb.analysis.relevance import DEFAULT_RELEVANCE_FILE, load_relevance, training_texts
from kb.analysis.stance import DEFAULT_STANCES_FILE, load_stances
from kb.analysis.topics import DEFAULT_TOPICS_FILE

from .conftest import run_kb, sorted_rows

DEFAULT_FILES = (DEFAULT_PEOPLE_FILE, DEFAULT_TOPICS_FILE, DEFAULT_RELEVANCE_FILE, DEFAULT_STANCES_FILE)

ADDED_TEXT = (
    "Sample content written for the tests.\n\n"
    '"You can learn the calculus you need in a weekend," Yann LeCun said at a workshop.\n\n'
    "Matrix multiplication and gradient descent are the two ideas the course returns to.\n\n"
    '"Proofs are optional for most practitioners," said Professor Quill, who teaches the sample course.'
)


def edit_document(db, document_id: int, text: str) -> None:
    row = db["documents"].get(document_id)
    document = {**row, "text": text, "url": row["url"], "source": row["source"]}
    storage.save_document(db, document, split_passages(text))


def add_document(db, url: str, text: str) -> None:
    document = {"url": url, "source": "sample", "title": "Added page", "author": "Daphne Koller", "text": text}
    storage.save_document(db, document, split_passages(text))


def snapshot(path) -> dict[str, list]:
    """Every derived table, as sorted rows without the ids a new row gets."""
    return sorted_rows(
        path,
        {
            "quotes": (
                "select q.document_id, q.quote, q.kind, q.char_start, q.char_end, q.passage_id, p.name, q.speaker_mention,"
                " q.speaker_type, q.cue, q.stance, round(q.stance_confidence, 6) from quotes q"
                " left join people p on p.id = q.person_id"
            ),
            "quote_speakers": (
                "select q.document_id, q.char_start, p.name from quote_speakers s join quotes q on q.id = s.quote_id"
                " join people p on p.id = s.person_id"
            ),
            "people": "select name, verified, aliases from people",
            "documents": (
                "select d.id, p.name, d.analysis_note, d.work_id, round(d.relevance, 6), d.relevance_flag"
                " from documents d left join people p on p.id = d.author_id"
            ),
            "passage_topics": (
                "select pt.passage_id, t.name, pt.mentions from passage_topics pt join topics t on t.id = pt.topic_id"
            ),
            "topics": "select name, terms from topics",
            "works": "select id, title, first_published, copies from works",
            "passages": "select id, stance, round(stance_confidence, 6), round(relevance, 6) from passages",
        },
    )


@pytest.fixture
def config(tmp_path):
    """Editable copies of people.yml, topics.yml, relevance.yml and stances.yml."""
    files = [tmp_path / Path(default).name for default in DEFAULT_FILES]
    for default, file in zip(DEFAULT_FILES, files):
        shutil.copy(default, file)
    return files


def analyze(path, people, topics=DEFAULT_TOPICS_FILE, relevance=DEFAULT_RELEVANCE_FILE, stances=None, **options):
    kb = KnowledgeBase(path, people=people, topics=topics, relevance=relevance, stances=stances or DEFAULT_STANCES_FILE)
    return kb.analyze(progress=False, **options)


def test_unchanged_database_derives_nothing(db_copy, config):
    people = config[0]
    analyze(db_copy, people)
    report = analyze(db_copy, people)
    assert report.complete and "statements of 0 new or changed documents" in report.lines[0]


def test_incremental_analyses_end_where_a_full_one_does(db_copy, config, embedder):
    people, topics, relevance, stances = config
    analyze(db_copy, people)
    db = storage.open_db(db_copy)
    first, second, third = [r[0] for r in db.execute("select id from documents where status = 'ok' order by id")][:3]
    edit_document(db, first, db["documents"].get(first)["text"] + "\n\n" + ADDED_TEXT)
    add_document(db, "https://sample.invalid/added", ADDED_TEXT)
    add_document(db, "https://sample.invalid/reprint", db["documents"].get(third)["text"])  # a copy
    storage.mark_gone(db, db["documents"].get(second)["url"])
    db.close()
    KnowledgeBase(db_copy).embed(progress=False)

    changed = analyze(db_copy, people)
    assert "statements of 3 new or changed documents" in changed.lines[0]
    work_of = dict(storage.open_db(db_copy).execute("select id, work_id from documents").fetchall())
    reprint = max(work_of)
    assert work_of[third] is not None and work_of[reprint] == work_of[third]  # the copy joined its original's work

    # people.yml edited: the statements of the two documents naming the new person again, cut short by
    # the time budget, then finished.
    people.write_text(people.read_text() + "  - name: Ada Quill\n    aliases: [Quill, Professor Quill]\n")
    cut = analyze(db_copy, people, time_budget=0.001)
    assert not cut.complete and "statements of 1 new or changed documents derived, 1 left" in cut.lines[0]
    finished = analyze(db_copy, people)
    assert finished.complete and "statements of 1 new or changed documents" in finished.lines[0]
    assert ("Ada Quill", 1) in {(q[6], 1) for q in snapshot(db_copy)["quotes"]}  # the edit reached the statements

    # topics.yml edited: topics again, statements not.
    topics.write_text(topics.read_text() + "  - name: sample-topic\n    terms: [weekend]\n")
    incremental = analyze(db_copy, people, topics)
    assert "statements of 0 new or changed documents" in incremental.lines[0]
    assert any(name == "sample-topic" for _, name, _ in snapshot(db_copy)["passage_topics"])
    # relevance.yml edited (one more example): passages and documents scored again.
    before = snapshot(db_copy)["passages"]
    relevance.write_text(
        relevance.read_text().replace(
            "examples:\n", "examples:\n  - Sample text, weekend courses teach the calculus a practitioner needs.\n", 1
        )
    )
    analyze(db_copy, people, topics, relevance)
    assert snapshot(db_copy)["passages"] != before
    # Nothing changed: no stance judged again. stances.yml edited: stances again, nothing else.
    unchanged = analyze(db_copy, people, topics, relevance, stances)
    assert "(0 judged in this analysis)" in unchanged.lines[0]
    before = snapshot(db_copy)
    stances.write_text(stances.read_text().replace("min_confidence: 0.4", "min_confidence: 0.8", 1))
    relabelled = analyze(db_copy, people, topics, relevance, stances)
    assert "statements of 0 new or changed documents" in relabelled.lines[0]
    assert "(0 judged" not in relabelled.lines[0]
    after = snapshot(db_copy)
    assert after["passages"] != before["passages"] and after["passage_topics"] == before["passage_topics"]
    after_incremental = after

    full = analyze(db_copy, people, topics, relevance, stances, everything=True)
    assert full.complete and "statements of" in full.lines[0]
    after_full = snapshot(db_copy)
    for table in after_full:
        assert after_incremental[table] == after_full[table], table
    assert after_full["quotes"] and after_full["passage_topics"]


def test_a_group_of_copies_that_grows_judges_only_its_new_members(db_copy, config, embedder):
    people = config[0]
    analyze(db_copy, people)
    db = storage.open_db(db_copy)
    [original] = db.execute(
        "select document_id from passages where stance_key is not null group by document_id order by count(*) desc limit 1"
    ).fetchone()
    add_document(db, "https://sample.invalid/reprint", db["documents"].get(original)["text"])
    db.close()
    KnowledgeBase(db_copy).embed(progress=False)

    grown = analyze(db_copy, people)
    judged = int(re.search(r"\((\d+) judged in this analysis\)", grown.lines[0]).group(1))
    db = storage.open_db(db_copy)
    reprint = db.execute("select max(id) from documents").fetchone()[0]
    new_rows, group_rows = 0, 0
    for table in ("passages", "quotes"):
        new_rows += db.execute(
            f"select count(*) from {table} where document_id = ? and stance_key is not null", [reprint]
        ).fetchone()[0]
        group_rows += db.execute(
            f"select count(*) from {table} where stance_key is not null and normalized_hash in "
            f"(select normalized_hash from {table} where document_id = ?)",
            [reprint],
        ).fetchone()[0]
    db.close()
    assert new_rows > 0 and judged == new_rows and group_rows > new_rows
    incremental = snapshot(db_copy)
    analyze(db_copy, people, everything=True)
    assert snapshot(db_copy) == incremental


ARGUED = "How much math does a machine-learning practitioner need? {} to train one."
EXPLAINED = (
    "Gradients, step sizes and numerical stability are settled inside the training code, "
    "and a person who reads the training curves closely learns how the model behaves."
)


def test_a_passage_is_judged_again_when_the_one_beside_it_changes(db_copy, config):
    """A passage without cues of its own takes its neighbour's: an edit of the neighbour reaches it."""
    people = config[0]
    page = "Sample content written for the tests.\n\n{}\n\n" + EXPLAINED
    db = storage.open_db(db_copy)
    add_document(
        db, "https://sample.invalid/beside", page.format(ARGUED.format("In six years I never needed calculus"))
    )
    db.close()
    KnowledgeBase(db_copy).embed(progress=False)
    analyze(db_copy, people)

    def explained_stance():
        db = storage.open_db(db_copy)
        row = db.execute("select stance, stance_reasons from passages where text = ?", [EXPLAINED]).fetchone()
        db.close()
        return row[0], json.loads(row[1])["by"]

    assert explained_stance() == ("not needed to start", "neighbouring cues")
    db = storage.open_db(db_copy)
    [document_id] = db.execute("select id from documents where url = 'https://sample.invalid/beside'").fetchone()
    edit_document(db, document_id, page.format(ARGUED.format("You must master calculus long before you try")))
    db.close()
    KnowledgeBase(db_copy).embed(progress=False)
    analyze(db_copy, people)
    assert explained_stance() == ("essential foundation", "neighbouring cues")
    incremental = snapshot(db_copy)
    analyze(db_copy, people, everything=True)
    assert snapshot(db_copy) == incremental


def documents_naming(path, word: str) -> int:
    db = sqlite_utils.Database(path)
    rows = db.execute("select text, coalesce(author, '') from documents where status = 'ok'").fetchall()
    return sum(bool(re.search(rf"\b{word}\b", f"{author} {text}", re.I)) for text, author in rows)


def test_a_people_edit_derives_only_the_documents_naming_whom_it_changed(db_copy, config):
    people = config[0]
    analyze(db_copy, people)
    original = people.read_text()
    # Nobody's names, sign-off or pronoun changed: nothing derived again, the people table follows.
    people.write_text(original.replace("co-founder of Coursera", "co-founder of Coursera (edited)", 1))
    described = analyze(db_copy, people)
    assert "statements of 0 new or changed documents" in described.lines[0]
    assert (
        "(edited)"
        in sqlite_utils.Database(db_copy)
        .execute("select description from people where name = 'Daphne Koller'")
        .fetchone()[0]
    )
    # A person no document names, added: nothing again.
    people.write_text(original + "  - name: Orla Vantongeren\n    aliases: [Vantongeren]\n")
    assert "statements of 0 new or changed documents" in analyze(db_copy, people).lines[0]
    # A pronoun changed: exactly the documents that name her, and a person removed: those naming him.
    edited = original.replace("pronoun: she", "pronoun: they", 1)
    people.write_text(edited)
    koller = documents_naming(db_copy, "Koller")
    total = sqlite_utils.Database(db_copy).execute("select count(*) from documents where status = 'ok'").fetchone()[0]
    assert 0 < koller < total
    assert f"statements of {koller} new or changed documents" in analyze(db_copy, people).lines[0]
    serrano = edited.index("  - name: Luis Serrano")
    people.write_text(edited[:serrano] + edited[edited.index("  - name:", serrano + 1) :])
    assert f"statements of {documents_naming(db_copy, 'Serrano')} new" in analyze(db_copy, people).lines[0]
    incremental = snapshot(db_copy)
    analyze(db_copy, people, everything=True)
    assert snapshot(db_copy) == incremental


def example_hashes(relevance, stances) -> set[str]:
    config = load_relevance(relevance, DEFAULT_TOPICS_FILE)
    texts = [*training_texts(config), *(text for s in load_stances(stances).stances for text in s.examples)]
    return {schema.normalized_hash(text) for text in texts}


def test_a_stances_edit_encodes_only_the_examples_it_changed(db_copy, config, monkeypatch):
    """Statements' and examples' embeddings are kept (statement_vectors, example_vectors): judging
    again after a stances.yml edit encodes only the examples it added; an example or a statement
    gone takes its embedding with it."""
    from embeddings.model import Embedder

    people, _, relevance, stances = config
    analyze(db_copy, people)
    db = sqlite_utils.Database(db_copy)
    judged = {row[0] for row in db.execute("select normalized_hash from quotes where stance_key is not null")}
    assert judged and {row[0] for row in db.execute("select normalized_hash from statement_vectors")} == judged
    kept_examples = {row[0] for row in db.execute("select normalized_hash from example_vectors")}
    assert kept_examples == example_hashes(relevance, stances)

    encoded = []
    real_encode = Embedder.encode
    monkeypatch.setattr(Embedder, "encode", lambda self, texts, **kw: encoded.extend(texts) or real_encode(self, texts))
    stances.write_text(stances.read_text().replace("min_confidence: 0.4", "min_confidence: 0.8", 1))
    relabelled = analyze(db_copy, people, stances=stances)
    assert "(0 judged" not in relabelled.lines[0]
    assert encoded == []

    old = "How much math you need depends on your goals and changes as the tools mature."
    new = "Sample example written for the test, the math worth learning is the math your project uses."
    stances.write_text(stances.read_text().replace(old, new, 1))
    relabelled = analyze(db_copy, people, stances=stances)
    assert "(0 judged" not in relabelled.lines[0]
    assert encoded == [new]
    kept_examples = {row[0] for row in db.execute("select normalized_hash from example_vectors")}
    assert kept_examples == example_hashes(relevance, stances) and schema.normalized_hash(old) not in kept_examples

    [(document_id, quote, gone)] = db.execute(
        "select document_id, quote, normalized_hash from quotes q where stance_key is not null and "
        "(select count(*) from quotes o where o.normalized_hash = q.normalized_hash) = 1 order by id limit 1"
    ).fetchall()
    db.close()
    kb_db = storage.open_db(db_copy)
    text = kb_db["documents"].get(document_id)["text"]
    assert quote in text
    edit_document(kb_db, document_id, text.replace(quote, "a sentence written for the test instead"))
    kb_db.close()
    KnowledgeBase(db_copy).embed(progress=False)
    analyze(db_copy, people, stances=stances)
    db = sqlite_utils.Database(db_copy)
    assert not db.execute("select 1 from quotes where normalized_hash = ?", [gone]).fetchone()
    assert not db.execute("select 1 from statement_vectors where normalized_hash = ?", [gone]).fetchone()
    assert db.execute("select count(*) from statement_vectors").fetchone()[0] > 0
    incremental = snapshot(db_copy)
    analyze(db_copy, people, stances=stances, everything=True)
    assert snapshot(db_copy) == incremental


def test_a_topics_edit_tags_and_scores_again_only_the_passages_naming_its_terms(db_copy, config, monkeypatch):
    """A topic added tags again the passages that hold its terms; its terms are math terms of the
    relevance score too, so it scores those passages again, unless a term changes what the classifier
    learns from, which scores everything again."""
    from kb.analysis import analyze as analyze_module
    from kb.analysis.relevance import RelevanceScorer

    people, topics, _, _ = config
    analyze(db_copy, people)
    tagged, scored = [], []
    real_tag = analyze_module.tag
    monkeypatch.setattr(analyze_module, "tag", lambda text, topics: tagged.append(text) or real_tag(text, topics))
    real_score = RelevanceScorer.score_passages
    monkeypatch.setattr(
        RelevanceScorer, "score_passages", lambda self, texts, vectors=None: scored.extend(texts) or real_score(
            self, texts, vectors
        )
    )  # fmt: skip
    db = sqlite_utils.Database(db_copy)
    everything = {
        row[0] for row in db.execute("select p.text from passages p join passage_vectors v on v.passage_id = p.id")
    }
    naming = {text for text in everything if re.search(r"\bdebugging\b", text, re.IGNORECASE)}
    assert 0 < len(naming) < len(everything)

    topics.write_text(topics.read_text() + "  - name: sample-topic\n    terms: [debugging]\n")
    analyze(db_copy, people, topics)
    assert set(scored) == naming and set(tagged) == naming
    assert {name for _, name, _ in snapshot(db_copy)["passage_topics"]} >= {"sample-topic"}
    # "notation" sits near "machine learning" in an example of relevance.yml: what the classifier learns
    # from changes, so every passage is scored again.
    scored.clear()
    tagged.clear()
    topics.write_text(topics.read_text() + "  - name: sample-notation\n    terms: [notation]\n")
    analyze(db_copy, people, topics)
    assert set(scored) == everything
    assert set(tagged) == {text for text in everything if re.search(r"\bnotation\b", text, re.IGNORECASE)}
    # A topic removed: its rows go, and the passages that held its terms are tagged again.
    tagged.clear()
    topics.write_text(topics.read_text().replace("  - name: sample-topic\n    terms: [debugging]\n", ""))
    analyze(db_copy, people, topics)
    assert set(tagged) == naming
    assert "sample-topic" not in {name for _, name, _ in snapshot(db_copy)["passage_topics"]}
    incremental = snapshot(db_copy)
    analyze(db_copy, people, topics, everything=True)
    assert snapshot(db_copy) == incremental


def test_rows_that_fall_off_the_question_lose_their_stance(db_copy, config):
    people, topics, relevance, _ = config

    def with_stance_key(table: str) -> set[int]:
        db = storage.open_db(db_copy)
        try:
            return {row[0] for row in db.execute(f"select id from {table} where stance_key is not null")}
        finally:
            db.close()

    analyze(db_copy, people, topics, relevance)
    before = with_stance_key("passages")
    relevance.write_text(relevance.read_text().replace("threshold: 0.7", "threshold: 0.999", 1))
    analyze(db_copy, people, topics, relevance)
    db = storage.open_db(db_copy)
    for table in ("passages", "quotes"):
        on_question = {row_id for row_id, _, _ in itertools.chain(*storage.stance_groups(db, table, 0.999))}
        assert with_stance_key(table) == on_question, table
    db.close()
    assert with_stance_key("passages") < before


def test_gone_document_keeps_its_statements(db_copy, config):
    people = config[0]
    analyze(db_copy, people)
    db = storage.open_db(db_copy)
    document_id, url = db.execute(
        "select d.id, d.url from documents d join quotes q on q.document_id = d.id limit 1"
    ).fetchone()
    before = db.execute("select count(*) from quotes where document_id = ?", [document_id]).fetchone()[0]
    storage.mark_gone(db, url)
    db.close()
    analyze(db_copy, people)
    db = storage.open_db(db_copy)
    assert db.execute("select count(*) from quotes where document_id = ?", [document_id]).fetchone()[0] == before


def test_time_budget_and_all_on_the_command_line(db_copy):
    interrupted = run_kb("analyze", "--db", db_copy, "--all", "--time-budget", "1", timeout=300)
    assert interrupted.returncode in (0, 1), interrupted.stderr[-2000:]
    resumed = run_kb("analyze", "--db", db_copy, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    pending = (
        sqlite_utils.Database(db_copy)
        .execute("select count(*) from documents where status = 'ok' and statements_key is null")
        .fetchone()[0]
    )
    assert pending == 0


@pytest.mark.parametrize("args, message", [(["--time-budget", "0"], "time-budget"), (["--all", "x"], "unexpected")])
def test_bad_options_are_one_line(db_copy, args, message):
    result = run_kb("analyze", "--db", db_copy, *args)
    assert result.returncode == 2 and message in result.stderr.lower() and "Traceback" not in result.stderr


def test_analysis_waits_for_no_one_while_a_crawl_writes(db_copy):
    with storage.writer_lock(db_copy):
        result = run_kb("analyze", "--db", db_copy)
    assert result.returncode == 3 and "Traceback" not in result.stderr
