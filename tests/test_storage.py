"""kb.storage: one row per canonical URL, atomic documents, honest runs."""

import pytest
import sqlite_utils
import yaml

from embeddings.chunking import split_passages
from kb import schema, storage

from .conftest import ROOT

DOC = {
    "url": "http://example.org/a",
    "fetched_url": "http://example.org/a?utm_source=x",
    "source": None,
    "title": "On gradients",
    "author": "A. Writer",
    "published": "2024-05-01",
    "site_name": "Example",
    "language": "en",
    "description": None,
    "text": "Gradients matter.\nGradient descent needs calculus.\nLinear algebra helps too.",
}


def save(db, **changes):
    doc = {**DOC, **changes}
    return storage.save_document(db, doc, split_passages(doc["text"]))


def passages(db):
    return list(db.query("select id, seq, text from passages order by seq"))


def fts(db, term):
    return [
        r["text"]
        for r in db.query(
            "select passages.text from passages_fts join passages on passages.id = passages_fts.rowid "
            "where passages_fts match ?",
            [term],
        )
    ]


@pytest.fixture
def db(tmp_path):
    return storage.open_db(tmp_path / "kb.db")


def test_new_then_unchanged_then_changed(db):
    assert save(db) == "new"
    first = db["documents"].get(1)
    assert first["year"] == 2024 and first["host"] == "example.org" and first["word_count"] == 10
    assert save(db) == "unchanged"
    assert db["documents"].count == 1 and db["passages"].count == 3
    assert save(db, author="B. Writer") == "changed"  # metadata counts as content
    assert db["documents"].get(1)["author"] == "B. Writer"


def test_changed_text_updates_only_differing_passages(db):
    save(db)
    before = passages(db)
    save(db, text="Gradients matter.\nGradient descent needs calculus and momentum.")
    after = passages(db)
    assert [p["text"] for p in after] == ["Gradients matter.", "Gradient descent needs calculus and momentum."]
    assert after[0]["id"] == before[0]["id"]  # untouched passage keeps its id
    assert after[1]["id"] == before[1]["id"]  # updated in place
    # Full-text search follows the change: old words gone, new words found.
    assert fts(db, "algebra") == []
    assert fts(db, "momentum") == ["Gradient descent needs calculus and momentum."]


def test_offsets_slice_the_document_text(db):
    save(db)
    text = db["documents"].get(1)["text"]
    for row in db.query("select char_start, char_end, text from passages"):
        assert text[row["char_start"] : row["char_end"]] == row["text"]


def test_a_failed_save_stores_nothing_of_the_document(db):
    save(db)
    # A trigger makes the second passage's insert fail, after the document row was written.
    db.execute(
        "create trigger fail_second after insert on passages when new.seq = 1 and new.document_id > 1 "
        "begin select raise(abort, 'disk full'); end"
    )
    with pytest.raises(storage.sqlite3.IntegrityError, match="disk full"):
        save(db, url="http://example.org/b")
    assert [r["url"] for r in db["documents"].rows] == ["http://example.org/a"]
    assert db["passages"].count == 3  # only the first document's


def test_empty_text_is_refused(db):
    with pytest.raises(ValueError):
        save(db, text="  ")
    assert db["documents"].count == 0


def test_runs_record_counts_and_failures(db):
    run_id = storage.start_run(db, "sources.yml")
    assert db["crawl_runs"].get(run_id)["status"] == "running"
    storage.record_failure(db, run_id, "site", "http://example.org/x", "HTTP 500")
    row = storage.finish_run(db, run_id, "completed", {"new": 2, "failed": 1}, 1.5, {"site": {"new": 2}})
    assert (row["status"], row["new"], row["failed"], row["unchanged"], row["duration_s"]) == (
        "completed",
        2,
        1,
        0,
        1.5,
    )
    assert [f["reason"] for f in db["crawl_failures"].rows] == ["HTTP 500"]


def test_open_db_refuses_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 100)
    before = path.read_bytes()
    with pytest.raises(storage.StorageError, match="not a usable SQLite database"):
        storage.open_db(path)
    assert path.read_bytes() == before


def test_open_db_in_missing_directory(tmp_path):
    with pytest.raises(storage.StorageError, match="does not exist"):
        storage.open_db(tmp_path / "nope" / "kb.db")


def test_migrations_are_idempotent_and_wal_is_on(tmp_path):
    storage.open_db(tmp_path / "kb.db").close()
    db = storage.open_db(tmp_path / "kb.db")
    assert db.journal_mode == "wal"
    assert [m["name"] for m in db["_sqlite_migrations"].rows] == [
        "m001_initial",
        "m002_embeddings",
        "m003_people_and_works",
        "m004_quotes_and_topics",
        "m005_stances",
        "m006_document_links",
        "m007_incremental_crawling",
        "m008_source_max_pages",
        "m009_cheap_recrawls_and_error_summary",
        "m010_analyses",
        "m011_facet_indexes",
        "m012_relevance",
        "m013_pdf_documents",
        "m014_statements",
        "m015_reasons",
        "m016_passage_vectors",
        "m017_analysis_keys",
        "m018_copy_candidates",
        "m019_relevance_keys",
        "m020_stance_keys",
        "m021_band_keys",
        "m022_parsed_people",
        "m023_spoken_documents",
        "m024_discussion_threads",
        "m025_statement_copies",
        "m026_curation",
        "m027_vector_ids_never_reused",
        "m028_statement_vectors",
        "m029_full_text_triggers",
        "m030_scored_math_terms",
        "m031_example_vectors",
    ]
    assert {"documents_fts", "passages_fts"} <= set(db.table_names())


def test_an_older_database_gets_the_normalized_hash_of_its_passages_and_quotes(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    storage.load_sqlite_vec(db.conn)
    schema.migrations.apply(db, stop_before="m020_stance_keys")
    text = "Math IS  needed."
    db["documents"].insert(
        {"id": 1, "url": "https://sample.invalid/a", "text": text, "content_hash": "h", "status": "ok"}
    )
    db["passages"].insert(
        {"id": 1, "document_id": 1, "seq": 0, "char_start": 0, "char_end": 16, "text": text, "content_hash": "h"}
    )
    db["quotes"].insert(
        {"id": 1, "document_id": 1, "quote": "math is needed.", "kind": "direct", "char_start": 0, "char_end": 15}
    )
    schema.apply(db)
    passage = db["passages"].get(1)["normalized_hash"]
    assert passage == db["quotes"].get(1)["normalized_hash"] == schema.normalized_hash(text)
    assert passage != schema.normalized_hash("Math is not needed.")


def documents_found(db, term):
    return [r["title"] for r in db.query("select title from documents_fts where documents_fts match ?", [term])]


def test_the_full_text_indexes_follow_their_tables(db):
    """documents_fts and passages_fts hold what their tables hold, through inserts, text changes and
    deletes, and writing any other column (a stance, last_fetched) does not index a text again."""
    save(db)
    assert documents_found(db, "calculus") == ["On gradients"] and fts(db, "calculus")
    save(db, text="Probability is enough.\nNothing else.", title="On probability")
    assert documents_found(db, "calculus") == [] and documents_found(db, "probability") == ["On probability"]
    assert fts(db, "calculus") == [] and fts(db, "probability")
    before = db.conn.total_changes
    db.execute("update passages set stance = 'not needed to start'")
    db.execute("update documents set last_fetched = '2026-12-07'")
    assert db.conn.total_changes - before == db["passages"].count + db["documents"].count  # no FTS writes
    for table in ("documents_fts", "passages_fts"):
        db.execute(f"insert into {table} ({table}) values ('integrity-check')")  # raises when out of step
    db.execute("delete from passages")
    db.execute("delete from documents")
    assert documents_found(db, "probability") == [] and fts(db, "probability") == []


def test_an_older_database_gets_its_documents_indexed(tmp_path):
    """Before m029 nothing fed documents_fts after m003 rebuilt the documents table."""
    db = sqlite_utils.Database(tmp_path / "old.db")
    storage.load_sqlite_vec(db.conn)
    schema.migrations.apply(db, stop_before="m029_full_text_triggers")
    db["documents"].insert(
        {
            "id": 1,
            "url": "https://sample.invalid/a",
            "title": "Sample on calculus",
            "text": "x",
            "content_hash": "h",
            "status": "ok",
        }
    )
    assert documents_found(db, "calculus") == []
    schema.apply(db)
    assert documents_found(db, "calculus") == ["Sample on calculus"]


def test_dropped_passages_take_their_vectors_with_them(db):
    save(db)
    vectors = [(p["id"], "hash", bytes(4 * 384)) for p in passages(db)]
    storage.save_embeddings(db, "m", 384, vectors)
    save(db, text="Gradients matter.")  # two passages fewer
    assert db["passage_vectors"].count == 1
    assert db.execute("select count(*) from vec_passages").fetchone()[0] == 1


def test_a_vector_of_the_wrong_size_is_refused(db):
    save(db)
    with pytest.raises(ValueError, match="dimensions"):
        storage.save_embeddings(db, "m", 384, [(1, "hash", bytes(4 * 100))])
    assert db["passage_vectors"].count == 0


def test_opening_a_database_another_connection_is_writing_waits_instead_of_failing(tmp_path):
    """SQLite refuses a journal-mode change at once while another connection writes;
    two processes opening a new database together used to fail here."""
    import threading
    import time

    path = tmp_path / "kb.db"
    writing, done = threading.Event(), threading.Event()

    def writer():  # another process creating the knowledge base
        conn = sqlite_utils.Database(path).conn
        conn.execute("begin immediate")
        conn.execute("create table busy (x)")
        conn.execute("insert into busy values (1)")
        writing.set()
        time.sleep(0.5)
        conn.commit()
        conn.close()
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(5)
    db = storage.open_db(path)  # waits for the writer, then migrates
    thread.join()
    assert done.is_set() and db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert "documents" in db.table_names()


def test_every_facet_column_is_indexed(tmp_path):
    """A facet is a GROUP BY on every page view: without an index it reads the whole table."""
    db = storage.open_db(tmp_path / "kb.db")
    tables = yaml.safe_load((ROOT / "metadata.yml").read_text())["databases"]["kb"]["tables"]
    unindexed = []
    for table, config in tables.items():
        if table not in db.table_names():  # views cannot be indexed
            continue
        leading = {index.columns[0] for index in db[table].indexes}
        pks = db[table].pks
        unindexed += [f"{table}.{c}" for c in config.get("facets", []) if c not in leading and [c] != pks]
    assert unindexed == []


def test_statements_keep_every_speaker_and_unreferenced_unverified_people_go(tmp_path):
    db = storage.open_db(tmp_path / "kb.db")
    text = "Ada Lind and Bo Strand said that linear algebra comes first."
    storage.save_document(db, {"url": "https://example.org/a", "source": "s", "text": text}, [(0, len(text))])
    (document_id,) = [r["id"] for r in db["documents"].rows]
    statement = {
        "quote": "linear algebra comes first",
        "kind": "indirect",
        "char_start": 31,
        "char_end": 57,
        "speakers": ["Ada Lind", "Bo Strand"],
        "speaker_mention": "Ada Lind and Bo Strand",
        "speaker_start": 0,
        "speaker_end": 22,
        "speaker_type": "person",
        "cue": "said",
        "cue_start": 23,
    }
    storage.save_quotes(db, document_id, [statement], None, note="attribution: cut")
    (quote,) = db["quotes"].rows
    names = [
        r["name"]
        for r in db.query("select name from quote_speakers join people on people.id = person_id order by name")
    ]
    assert names == ["Ada Lind", "Bo Strand"] and quote["kind"] == "indirect" and quote["passage_id"] is not None
    assert db["people"].get(quote["person_id"])["name"] == "Ada Lind"  # the first speaker
    assert db["documents"].get(document_id)["analysis_note"] == "attribution: cut"
    storage.save_quotes(db, document_id, [], None)  # a re-analysis that finds nothing
    assert db["quote_speakers"].count == 0 and storage.prune_people(db) == 2 and db["people"].count == 0
    db.close()


def test_an_older_database_keeps_the_band_keys_of_its_compared_documents(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    storage.load_sqlite_vec(db.conn)
    schema.migrations.apply(db, stop_before="m021_band_keys")
    for document_id, copies_key in ((1, "rules:h1"), (2, None)):
        db["documents"].insert(
            {"id": document_id, "url": f"https://sample.invalid/{document_id}", "text": "Sample text.",
             "content_hash": f"h{document_id}", "status": "ok", "copies_key": copies_key}
        )  # fmt: skip
    schema.apply(db)
    assert [row["bands_key"] for row in db["documents"].rows_where(order_by="id")] == ["rules:h1", None]
