"""Embeddings, the vector indexes, and keyword / semantic / hybrid search."""

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest
import sqlite_utils

from embeddings.model import DEFAULT_MODEL, model_path
from kb import storage
from kb.search import search
from kb.search.semantic import SearchError, SemanticSearch
from kb.vectors import MappedPassageIndex, PassageIndex, embed_pending

from .conftest import ROOT, datasette_get, run_kb

# Paraphrased questions that share no word with the passage that answers them.
PARAPHRASES = [
    (
        "Which university courses would you recommend to a teenager who wants a career in artificial intelligence?",
        "The bluntest version of that advice came from Yann LeCun",
    ),
    (
        "How should I look after a fermenting culture in chilly weather?",
        "Keeping a sourdough starter alive through the winter",
    ),
]


def passage_starting(db_path, prefix):
    db = sqlite_utils.Database(db_path)
    return next(db.query("select id, text from passages where text like ? || '%' order by id", [prefix]))


# -- embeddings -------------------------------------------------------------------------


def test_every_passage_has_one_normalised_vector_with_its_model(db):
    rows = list(
        db.query(
            "select p.id, p.content_hash as p_hash, e.content_hash, e.model, e.dimensions, e.vector "
            "from passages p left join passage_vectors e on e.passage_id = p.id"
        )
    )
    assert rows and all(r["model"] == DEFAULT_MODEL and r["dimensions"] == 384 for r in rows)
    assert all(r["content_hash"] == r["p_hash"] for r in rows)
    for r in rows:
        vector = np.frombuffer(r["vector"], dtype="<f4")
        assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-4


def test_vec0_index_holds_the_same_vectors(crawled_db):
    db = storage.connect(crawled_db)
    assert db.execute("select count(*) from vec_passages").fetchone()[0] == db["passage_vectors"].count
    passage_id, blob = db.execute("select passage_id, vector from passage_vectors limit 1").fetchone()
    (nearest,) = db.execute("select passage_id from vec_passages where embedding match ? and k = 1", [blob]).fetchone()
    assert nearest == passage_id


def test_vectors_match_a_plain_sentence_transformers_encode(db, embedder):
    row = next(
        db.query("select p.text, e.vector from passages p join passage_vectors e on e.passage_id = p.id limit 1")
    )
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(model_path(DEFAULT_MODEL), device="cpu").encode(
        [row["text"]], normalize_embeddings=True
    )[0]
    assert float(np.dot(reference, np.frombuffer(row["vector"], dtype="<f4"))) > 0.999


def test_second_embed_run_encodes_nothing(crawled_db, tmp_path):
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    result = run_kb("embed", "--db", path)
    assert result.returncode == 0, result.stderr
    assert "embedded 0 passages" in result.stderr


def test_only_changed_passages_are_re_embedded(db_copy, embedder):
    db = storage.open_db(db_copy)
    doc = next(db.query("select * from documents where url like '%sourdough%'"))
    before = {r["passage_id"]: r["id"] for r in db.query("select id, passage_id from passage_vectors")}
    text = doc["text"] + "\nA new closing paragraph about rye flour."
    from embeddings.chunking import split_passages
    from embeddings.model import load_token_counter

    storage.save_document(db, {**doc, "text": text}, split_passages(text, 256, load_token_counter()))
    report = embed_pending(db_copy, embedder)
    assert report.encoded == 1
    after = {r["passage_id"]: r["id"] for r in db.query("select id, passage_id from passage_vectors")}
    unchanged = set(before) & set(after)
    assert all(before[p] == after[p] for p in unchanged)  # untouched vectors were not rewritten


def test_a_change_of_model_re_embeds_instead_of_mixing(db_copy, tmp_path):
    # The same weights from a local directory count as another model: every vector is redone.
    local_model = tmp_path / "my-model"
    shutil.copytree(model_path(DEFAULT_MODEL), local_model)
    result = run_kb("embed", "--db", db_copy, "--model", local_model)
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(db_copy)
    models = list(db.query("select model, count(*) as n from passage_vectors group by model"))
    assert models == [{"model": str(local_model), "n": db["passages"].count}]
    assert "dropped" in result.stderr
    # A plain run keeps the database's model instead of switching back.
    assert "embedded 0 passages with " + str(local_model) in run_kb("embed", "--db", db_copy).stderr


def test_mixed_models_are_detected_and_reported(db_copy):
    db = storage.open_db(db_copy)
    db.execute("update passage_vectors set model = 'some/other-model', dimensions = 768 where id % 2 = 0")
    db.conn.commit()
    result = run_kb("search", "calculus", "--db", db_copy, "--mode", "semantic")
    assert result.returncode == 2
    assert "several models" in result.stderr and "some/other-model" in result.stderr
    with pytest.raises(SearchError, match="several models"):
        SemanticSearch(db_copy).knn("calculus", 3)
    assert "Traceback" not in result.stderr


def test_unknown_model_is_a_clear_error(db_copy):
    result = run_kb("embed", "--db", db_copy, "--model", "/nonexistent/model-dir")
    assert result.returncode == 2
    assert "cannot load embedding model '/nonexistent/model-dir'" in result.stderr
    assert sqlite_utils.Database(db_copy)["passage_vectors"].count > 0  # nothing lost


def test_rebuild_index_restores_vec0(db_copy):
    db = storage.open_db(db_copy)
    db.execute("delete from vec_passages")
    db.conn.commit()
    result = run_kb("embed", "--db", db_copy, "--rebuild-index")
    assert result.returncode == 0, result.stderr
    db = storage.connect(db_copy)
    assert db.execute("select count(*) from vec_passages").fetchone()[0] == db["passage_vectors"].count


def test_progress_lines_without_a_terminal(db_copy):
    db = storage.open_db(db_copy)
    db.execute("delete from passage_vectors")
    db.conn.commit()
    result = run_kb("embed", "--db", db_copy)
    assert f"embedded {db['passages'].count}/{db['passages'].count} passages (" in result.stderr
    assert "ETA" in result.stderr


def test_progress_bar_on_a_terminal(db_copy):
    db = storage.open_db(db_copy)
    db.execute("delete from passage_vectors")
    db.conn.commit()
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    process = subprocess.Popen(
        [sys.executable, "-m", "kb", "embed", "--db", str(db_copy)], cwd=ROOT, stdout=follower, stderr=follower
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    text = output.decode(errors="replace")
    assert "passage/s" in text and "100%" in text  # tqdm: rate, and the bar


def test_ann_index_agrees_with_exact_search(crawled_db, embedder):
    db = storage.connect(crawled_db)
    ann = PassageIndex(crawled_db, embedder.dimensions)
    ann.sync(db, save=False)
    query = embedder.encode_query("how much mathematics should an engineer learn")
    exact = [
        r[0]
        for r in db.execute("select passage_id from vec_passages where embedding match ? and k = 5", [query.tobytes()])
    ]
    assert [p for p, _ in ann.search(query, 5)] == exact


def test_ann_file_follows_changes(db_copy, embedder):
    db = storage.open_db(db_copy)
    ann = PassageIndex(db_copy, embedder.dimensions)
    ann.sync(db)
    removed_passage = next(db.query("select passage_id from passage_vectors limit 1"))["passage_id"]
    db.execute("delete from passage_vectors where passage_id = ?", [removed_passage])
    db.conn.commit()
    reloaded = PassageIndex(db_copy, embedder.dimensions)
    assert reloaded.load(db)
    assert len(reloaded.ann) == db["passage_vectors"].count
    assert removed_passage not in {p for p, _ in reloaded.search(embedder.encode_query("math"), 50)}


def test_the_writer_updates_its_saved_graph_instead_of_building_it_again(db_copy, embedder):
    db = storage.open_db(db_copy)
    PassageIndex(db_copy, embedder.dimensions).ann.remove_files()
    count = db["passage_vectors"].count
    assert PassageIndex(db_copy, embedder.dimensions).update_file(db) == (count, 0)  # no file: built
    graph = os.stat(f"{db_copy}.usearch")
    assert PassageIndex(db_copy, embedder.dimensions).update_file(db) == (0, 0)  # nothing changed
    assert os.stat(f"{db_copy}.usearch").st_ino == graph.st_ino  # and the file is left alone

    removed = next(db.query("select passage_id from passage_vectors limit 1"))["passage_id"]
    db.execute("delete from passage_vectors where passage_id = ?", [removed])
    db.conn.commit()
    writer = PassageIndex(db_copy, embedder.dimensions)
    assert writer.update_file(db) == (0, 1)  # the saved graph, less the removed vector: not built again
    assert os.stat(f"{db_copy}.usearch").st_ino != graph.st_ino
    assert len(writer.ann) == db["passage_vectors"].count
    reader = MappedPassageIndex(db_copy, embedder.dimensions)
    reader.sync(db)
    assert len(reader.mapped) == db["passage_vectors"].count and len(reader.added) == 0


def nearest_passages(index, db, query, k=50) -> list[int]:
    return [passage_id for passage_id, _ in index.search(db, query, k)]


def test_a_reader_maps_the_writers_file_and_follows_what_changes_after(db_copy, embedder):
    """Serving maps the saved graph (nothing read at start); vectors stored or removed since the
    writer's last save are found or dropped at the next sync; the writer's next save is mapped."""
    db = storage.open_db(db_copy)
    PassageIndex(db_copy, embedder.dimensions).sync(db)  # the writer saves the file
    reader = MappedPassageIndex(db_copy, embedder.dimensions)
    reader.sync(db)
    assert reader.mapped.mapped and len(reader.added) == 0
    query = embedder.encode_query("how much mathematics should an engineer learn")
    exact = [
        r[0]
        for r in db.execute("select passage_id from vec_passages where embedding match ? and k = 5", [query.tobytes()])
    ]
    assert nearest_passages(reader, db, query, 5) == exact

    # The writer replaces the nearest passage's vector with the query's own, without saving the graph.
    nearest = exact[0]
    content_hash = db.execute("select content_hash from passages where id = ?", [nearest]).fetchone()[0]
    db.execute("delete from passage_vectors where passage_id = ?", [nearest])
    db.conn.commit()
    storage.save_embeddings(db, embedder.name, embedder.dimensions, [(nearest, content_hash, query.tobytes())])
    reader.sync(db)
    assert len(reader.added) == 1 and reader.removed == 1
    hits = reader.search(db, query, 5)
    assert hits[0][0] == nearest and hits[0][1] < 1e-3  # the new vector, from memory
    assert [p for p, _ in hits].count(nearest) == 1  # the old one, still in the file, is dropped

    PassageIndex(db_copy, embedder.dimensions).sync(db)  # the writer saves again
    reader.sync(db)
    assert reader.mapped.mapped and len(reader.added) == 0 and reader.removed == 0
    assert reader.search(db, query, 1)[0][0] == nearest


def test_a_reader_without_the_file_keeps_every_vector_in_memory(db_copy, embedder):
    db = storage.open_db(db_copy)
    PassageIndex(db_copy, embedder.dimensions).ann.remove_files()
    reader = MappedPassageIndex(db_copy, embedder.dimensions)
    reader.sync(db)
    assert not reader.mapped.mapped and len(reader.added) == db["passage_vectors"].count
    assert nearest_passages(reader, db, embedder.encode_query("linear algebra"), 3)


def test_a_save_never_rewrites_the_file_a_reader_has_mapped(db_copy, embedder):
    db = storage.open_db(db_copy)
    writer = PassageIndex(db_copy, embedder.dimensions)
    writer.sync(db)
    reader = MappedPassageIndex(db_copy, embedder.dimensions)
    reader.sync(db)
    inode = os.stat(f"{db_copy}.usearch").st_ino
    writer.ann.save({"signature": [0, 0]})  # a new file is renamed over the mapped one
    assert os.stat(f"{db_copy}.usearch").st_ino != inode
    assert nearest_passages(reader, db, embedder.encode_query("calculus"), 3)  # the old mapping still answers


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query, target", PARAPHRASES)
def test_paraphrase_with_no_shared_word_is_found(crawled_db, query, target):
    """Over everything (min_relevance 0): one paraphrase targets the off-topic sourdough page."""
    passage = passage_starting(crawled_db, target)
    keyword = search(crawled_db, query, "keyword", 10, min_relevance=0)
    assert passage["id"] not in {r["passage_id"] for r in keyword}  # no word matches
    semantic = search(crawled_db, query, "semantic", 3, min_relevance=0)
    assert semantic[0]["passage_id"] == passage["id"]
    hybrid = search(crawled_db, query, "hybrid", 3, min_relevance=0)
    assert passage["id"] in {r["passage_id"] for r in hybrid}


def test_keyword_mode_ranks_and_marks_matches(crawled_db):
    rows = search(crawled_db, "prioritize", "keyword", 5)
    assert len(rows) == 1 and "**prioritize**" in rows[0]["snippet"]  # its reprint collapses into it


def test_hybrid_puts_passages_found_both_ways_first(crawled_db):
    rows = search(crawled_db, "why prioritize which math to learn", "hybrid", 5)
    assert rows[0]["keyword_rank"] is not None and rows[0]["semantic_rank"] is not None
    assert rows == sorted(rows, key=lambda r: -r["score"])
    # Weights are honoured: with the keyword list weighted 0, the order is the semantic order.
    semantic_only = search(crawled_db, "why prioritize which math to learn", "hybrid", 5, keyword_weight=0)
    assert [r["passage_id"] for r in semantic_only] == [
        r["passage_id"] for r in search(crawled_db, "why prioritize which math to learn", "semantic", 5)
    ]


def test_cli_search_prints_ranked_results(crawled_db):
    result = run_kb("search", "do I need calculus to train neural networks?", "--db", crawled_db, "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("http://127.0.0.1:") == 3
    as_json = json.loads(run_kb("search", "calculus", "--db", crawled_db, "--mode", "keyword", "--json").stdout)
    assert as_json and {"title", "url", "score", "snippet"} <= set(as_json[0])


def test_cli_search_shows_source_speaker_and_stance_plainly_when_piped(crawled_db):
    result = run_kb("search", "Andrew Ng trade-off", "--db", crawled_db, "--mode", "keyword", "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert "(Math in ML Notes, 2024-03-12)" in result.stdout  # site and date after the title
    assert "quotes Andrew Ng" in result.stdout and "stance: " in result.stdout
    assert "**" not in result.stdout and "\x1b[" not in result.stdout  # piped: no markers, no escape codes


def test_search_highlights_matches_with_the_style_given():
    from kb.search import highlighted

    assert highlighted("the **math** of **ML**", lambda w: f"<{w}>") == "the <math> of <ML>"
    assert highlighted("no match here", str.upper) == "no match here"


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_cli_without_vectors_says_what_to_do(crawled_db, tmp_path, mode):
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    db = storage.open_db(path)
    db.execute("delete from passage_vectors")
    db.conn.commit()
    result = run_kb("search", "calculus", "--db", path, "--mode", mode)
    assert result.returncode == 2 and "run `kb embed" in result.stderr


# (A 100 kB query does not fit in a URL: HTTP servers refuse it before Datasette; see the CLI test.)
BAD_QUERIES = [
    "",
    "   ",
    "calculus " * 1500,
    "数学は機械学習に必要ですか",
    "🤖🧮📈",
    "'; drop table passages; --",
    '"unbalanced AND (',
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=lambda q: repr(q[:12]))
@pytest.mark.parametrize("name", ["search", "semantic_search", "hybrid_search"])
def test_bad_queries_through_the_json_api(datasette, name, query):
    from urllib.parse import quote

    response = datasette_get(datasette, f"/kb/{name}.json?_shape=array&q={quote(query)}")
    assert response.status_code == 200, response.text[:500]
    assert isinstance(response.json(), list)
    assert datasette_get(datasette, "/kb/passages.json?_shape=array&_size=1").json()  # nothing dropped


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_a_100kb_query_gives_a_sane_result(crawled_db, mode):
    query = ("linear algebra calculus probability " * 3000)[:100_000]
    result = run_kb("search", query, "--db", crawled_db, "--mode", mode, "--json")
    assert result.returncode == 0, result.stderr[-1000:]
    assert json.loads(result.stdout)  # capped to its first words, which do match


def test_empty_query_on_the_cli_is_a_clear_error(crawled_db):
    result = run_kb("search", "  ", "--db", crawled_db)
    assert result.returncode == 2 and "empty query" in result.stderr


def test_semantic_and_hybrid_canned_queries(datasette, crawled_db):
    query = PARAPHRASES[0][0]
    target = passage_starting(crawled_db, PARAPHRASES[0][1])["id"]
    semantic = datasette_get(datasette, f"/kb/semantic_search.json?_shape=array&limit=3&q={query}").json()
    assert semantic[0]["passage_id"] == target and 0 < semantic[0]["score"] <= 1
    hybrid = datasette_get(datasette, f"/kb/hybrid_search.json?_shape=array&limit=5&q={query}").json()
    assert target in {r["passage_id"] for r in hybrid}
    # The CLI runs the same SQL, so it ranks exactly alike.
    assert [r["passage_id"] for r in hybrid] == [r["passage_id"] for r in search(crawled_db, query, "hybrid", 5)]


def test_related_passages_canned_query(datasette, crawled_db):
    reprint = passage_starting(crawled_db, "Andrew Ng put the trade-off plainly")
    rows = datasette_get(datasette, f"/kb/related_passages.json?_shape=array&passage_id={reprint['id']}").json()
    assert len(rows) == 10 and reprint["id"] not in {r["passage_id"] for r in rows}
    # Its republished twin is the nearest neighbour, at similarity ~1.
    assert rows[0]["snippet"] == reprint["text"] and rows[0]["score"] > 0.99


def test_kb_embed_sql_function_in_datasette(datasette):
    sql = "select passage_id from vec_passages where embedding match kb_embed(:q) and k = 3"
    from urllib.parse import quote

    response = datasette_get(datasette, f"/kb.json?_shape=array&sql={quote(sql)}&q=sourdough+starter")
    assert response.status_code == 200 and len(response.json()) == 3


def test_vector_tables_are_hidden(datasette):
    tables = datasette_get(datasette, "/kb.json").json()["tables"]
    hidden = {t["name"] for t in tables if t["hidden"]}
    assert {"vec_passages", "vec_passages_chunks", "vec_passages_rowids"} <= hidden
    assert "passage_vectors" not in hidden


def test_semantic_hits_are_rescored_with_their_neighbouring_passages(crawled_db, monkeypatch):
    """With KB_CONTEXT_WEIGHT w, a hit's similarity is (own + w * mean of its neighbours') / (1 + w)."""
    query = "why prioritize which math to learn"
    monkeypatch.setenv("KB_CONTEXT_WEIGHT", "0")
    plain = dict(SemanticSearch(crawled_db).knn(query, 200))
    monkeypatch.setenv("KB_CONTEXT_WEIGHT", "1")
    searcher = SemanticSearch(crawled_db)
    context = searcher.knn(query, 200)
    assert [d for _, d in context] == sorted(d for _, d in context) and {p for p, _ in context} == set(plain)
    db = sqlite_utils.Database(crawled_db)
    checked = 0
    for passage_id, distance in context[:5]:
        neighbours = [
            1 - plain[r["id"]]
            for r in db.query(
                "select n.id from passages p join passages n on n.document_id = p.document_id "
                "and n.seq in (p.seq - 1, p.seq + 1) where p.id = ?",
                [passage_id],
            )
            if r["id"] in plain
        ]
        if neighbours:
            own = 1 - plain[passage_id]
            assert distance == pytest.approx(1 - (own + sum(neighbours) / len(neighbours)) / 2, abs=1e-4)
            checked += 1
    assert checked


@pytest.mark.parametrize("value", ["lots", "2", "-0.1"])
def test_a_bad_context_weight_is_a_clear_error(crawled_db, value):
    result = run_kb("search", "calculus", "--db", crawled_db, "--mode", "semantic", env={"KB_CONTEXT_WEIGHT": value})
    assert result.returncode == 2 and f"KB_CONTEXT_WEIGHT must be a number from 0 to 1, not '{value}'" in result.stderr
    assert "Traceback" not in result.stderr
