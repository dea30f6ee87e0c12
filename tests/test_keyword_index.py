"""kb.search.keyword_index: the tantivy BM25 index follows the passages table and ranks like FTS5."""

import json

import pytest

from embeddings.chunking import split_passages
from kb import storage
from kb.search.keyword_index import KeywordIndex, KeywordSearch, sync_index
from kb.search.sqlfunctions import SNIPPET_WORDS, snippet

from .conftest import run_kb

ARTICLES = {
    "http://example.org/calculus": "Calculus explains how a network learns.\nThe chain rule is calculus.",
    "http://example.org/algebra": "Linear algebra: matrices, vectors and the eigenvalues of a matrix.",
    "http://example.org/bread": "Sourdough bread needs flour, water, salt and patience.",
    "http://example.org/proba": "Probability and statistics tell you whether a model generalises.",
}


def save(db, url, text):
    doc = {
        "url": url,
        "fetched_url": url,
        "source": None,
        "title": url.rsplit("/", 1)[1],
        "author": None,
        "published": None,
        "site_name": "Example",
        "language": "en",
        "description": None,
        "text": text,
    }
    return storage.save_document(db, doc, split_passages(text))


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "kb.db"
    db = storage.open_db(path)
    for url, text in ARTICLES.items():
        save(db, url, text)
    db.close()
    return path


def fts5_ids(path, text, k=10):
    return [passage_id for passage_id, _ in KeywordSearch(path)._fts5(text, k)]


def index_ids(path, text, k=10):
    return [passage_id for passage_id, _ in KeywordIndex(path).search(text, k)]


def passage_id_of(path, word):
    db = storage.connect(path)
    try:
        return db.execute("select id from passages where text like ?", [f"%{word}%"]).fetchone()[0]
    finally:
        db.close()


def test_ranks_as_fts5_does(db_path):
    assert sync_index(db_path).startswith("keyword index: 5 passages added, 0 removed")
    for question in (
        "calculus",
        "what is the chain rule of calculus",
        "linear algebra eigenvalues",
        "do I need probability",
        "matrix",
    ):  # "matrix" finds "matrices": both stem
        assert index_ids(db_path, question) == fts5_ids(db_path, question), question
    hits = KeywordIndex(db_path).search("calculus", 10)
    assert hits[0][1] > hits[-1][1] > 0  # BM25 scores, best first


def test_follows_added_rewritten_and_removed_passages(db_path):
    sync_index(db_path)
    db = storage.open_db(db_path)
    save(db, "http://example.org/bread", "Sourdough bread needs flour and a starter; no gradients at all.")
    save(db, "http://example.org/new", "Backpropagation applies the chain rule backwards.")
    db.execute("delete from passages where text like '%Probability%'")
    db.conn.commit()
    db.close()
    assert "2 passages added, 1 removed" in sync_index(db_path)
    assert index_ids(db_path, "starter") == [passage_id_of(db_path, "starter")]
    assert index_ids(db_path, "patience") == []  # the old text of the rewritten passage is gone
    assert index_ids(db_path, "backpropagation") == [passage_id_of(db_path, "Backpropagation")]
    assert index_ids(db_path, "probability") == []
    assert "0 passages added, 0 removed" in sync_index(db_path)  # nothing changed since


def test_an_interrupted_sync_repeats_without_duplicates(db_path):
    sync_index(db_path)
    # The index committed, but the record of what it holds was lost (killed before saving it).
    for suffix in (".tantivy.npy", ".tantivy.json"):
        db_path.with_name(db_path.name + suffix).unlink()
    assert "5 passages added" in sync_index(db_path)
    hits = index_ids(db_path, "calculus")
    assert len(hits) == len(set(hits)) == len(fts5_ids(db_path, "calculus")) == 2


def test_without_an_index_keyword_search_falls_back_to_fts5(db_path):
    assert KeywordIndex(db_path).search("calculus", 10) is None
    hits = json.loads(KeywordSearch(db_path).bm25_json("calculus", 10))
    assert [h[0] for h in hits] == fts5_ids(db_path, "calculus") != []


@pytest.mark.parametrize(
    "query", ["", "   ", "?!", None, 42, "text:calculus", '"calculus', "calculus)", "a OR b AND (c"]
)
def test_odd_queries_never_raise(db_path, query):
    sync_index(db_path)
    hits = KeywordSearch(db_path).bm25(query, 10)
    assert isinstance(hits, list)
    if query == "text:calculus":  # field syntax is read as two words, not as a field query
        assert hits and hits[0][0] == passage_id_of(db_path, "chain rule")


def test_kb_search_uses_the_index_and_rebuild_restores_it(db_path):
    sync_index(db_path)
    result = run_kb("search", "linear algebra", "--db", db_path, "--mode", "keyword", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(result.stdout)
    assert row["title"] == "algebra" and "**Linear**" in row["snippet"] and "**algebra**" in row["snippet"]
    # A damaged index directory is rebuilt from the database.
    index_dir = db_path.with_name(db_path.name + ".tantivy")
    (index_dir / "meta.json").write_text("not json")
    result = run_kb("embed", "--db", db_path, "--rebuild-index")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "keyword index: 5 passages added" in result.stderr
    assert index_ids(db_path, "eigenvalues") == [passage_id_of(db_path, "eigenvalues")]


def test_snippet_marks_the_query_words_as_the_index_matches_them():
    assert snippet("Learning to learn: the learner learned.", "learning") == (
        "**Learning** to **learn**: the learner **learned**."
    )  # "learner" stems apart
    assert snippet("Calculus, then <b>algebra</b>!", "algebra calculus") == "**Calculus**, then <b>**algebra**</b>!"


def test_snippet_of_a_long_passage_is_a_window_around_the_best_match():
    words = [f"w{i}" for i in range(200)]
    words[120], words[125], words[10] = "gradient", "descent", "gradient"
    text = " ".join(words)
    result = snippet(text, "gradient descent")
    assert result.startswith("…w117 ") and result.endswith("…")  # the window holding both words wins
    assert "**gradient** w121 w122 w123 w124 **descent**" in result
    assert len(result.strip("…").split()) == SNIPPET_WORDS


@pytest.mark.parametrize(
    "text, query, expected",
    [
        ("No match here.", "calculus", "No match here."),
        (" ".join(["word"] * 40), "calculus", " ".join(["word"] * 32) + "…"),  # no match: the start
        ("", "calculus", ""),
        (None, "calculus", None),
        ("Calculus.", None, "Calculus."),
        ("snake_case calculus_x", "calculus", "snake_case **calculus**_x"),  # as the index tokenises
    ],
)
def test_snippet_edge_cases(text, query, expected):
    assert snippet(text, query) == expected
