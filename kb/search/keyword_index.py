"""A BM25 top-k index of the passages (tantivy), kept in sync with SQLite, for keyword search at scale.

Why a second keyword index: FTS5 (``passages_fts``) ranks by scoring every
passage that matches any word of the query, and a question's words are
common: at a million passages, "how much linear algebra does a machine
learning engineer need" matches 455,000 of them and takes 330 ms to rank.
Tantivy (Lucene's design, in Rust) skips the passages that cannot reach the
top k (block-max WAND) and answers the same question in a few milliseconds
(BENCHMARKS.md). ``passages_fts`` stays the source of snippets and of ad-hoc
MATCH queries, and answers keyword searches whenever this index is missing.

The index is a directory next to the database (``kb.db.tantivy``), written
only by the process that holds the writer lock (`kb crawl`), like the HNSW
file of embeddings/ann.py. ``kb.db.tantivy.npy`` records the (passage id,
content hash) pairs it holds, so a sync adds and removes only what changed;
every passage added is first deleted by id, so a sync interrupted after the
index committed but before the record was saved repeats without duplicates.

Both sides tokenise alike: words as ``kb_fts_query`` keeps them (stopwords
dropped), lower-cased and stemmed (tantivy's English Snowball stemmer; FTS5
uses Porter's, its predecessor), scored by BM25 with k1=1.2, b=0.75 in both.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import tantivy

from .. import storage
from .sqlfunctions import fts_query, query_terms

logger = logging.getLogger(__name__)

MAX_K = 1000
BATCH = 5000  # passages read from SQLite at a time while indexing
WRITER_HEAP_BYTES = 100_000_000
REFRESH_SECONDS = 5.0  # how often a reader looks for a newer commit


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True)
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    return builder.build()


def _hash64(content_hash: str) -> int:
    """Passages' hex content hash cut to a signed 64-bit number (enough to see a change)."""
    return int(content_hash[:15], 16)


def passages_signature(db) -> list:
    """Changes whenever a passage is added, removed or rewritten (rewrites come with documents.last_changed)."""
    count, max_id = db.execute("select count(*), coalesce(max(id), 0) from passages").fetchone()
    (changed,) = db.execute("select coalesce(max(last_changed), '') from documents").fetchone()
    return [count, max_id, changed]


class KeywordIndex:
    """The tantivy index of one database's passages."""

    def __init__(self, db_path: str | Path):
        self.path = Path(f"{db_path}.tantivy")
        self.record_path = Path(f"{db_path}.tantivy.npy")
        self.state_path = Path(f"{db_path}.tantivy.json")
        self.lock = threading.Lock()
        self._index: tantivy.Index | None = None
        self._reloaded = 0.0

    # Writing (the writer process only)

    def sync(self, db) -> tuple[int, int]:
        """Bring the index in line with the passages table; returns (added, removed)."""
        signature = passages_signature(db)
        if self._state().get("signature") == signature and self.record_path.exists():
            return 0, 0
        current = self._current(db)
        held = self._held()
        stale = [i for i, h in held.items() if current.get(i) != h]  # gone or rewritten
        added = [i for i, h in current.items() if held.get(i) != h]  # new or rewritten
        index = self._open_for_writing()
        writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        for passage_id in stale:
            writer.delete_documents_by_term("id", passage_id)
        for start in range(0, len(added), BATCH):
            chunk = added[start : start + BATCH]
            rows = db.execute(
                "select id, text from passages where id in (select value from json_each(?))", [json.dumps(chunk)]
            ).fetchall()
            for passage_id, text in rows:
                writer.delete_documents_by_term("id", passage_id)  # no duplicate if a sync is repeated
                writer.add_document(tantivy.Document(id=passage_id, text=text))
        writer.commit()
        writer.wait_merging_threads()
        self._save_record(current, signature)
        return len(added), len(set(stale) - set(added))

    def rebuild(self, db) -> int:
        """Throw the index away and index every passage again; returns how many."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.record_path.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        added, _ = self.sync(db)
        return added

    def _open_for_writing(self) -> tantivy.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / "meta.json").exists():
            self.record_path.unlink(missing_ok=True)  # the record describes an index that is gone
        return tantivy.Index(_schema(), path=str(self.path))

    def _current(self, db) -> dict[int, int]:
        """Passage id -> content hash, for every passage in the database."""
        return {row[0]: _hash64(row[1]) for row in db.execute("select id, content_hash from passages")}

    def _held(self) -> dict[int, int]:
        """Passage id -> content hash, for every passage in the index, as last recorded."""
        if not (self.path / "meta.json").exists():
            return {}
        try:
            pairs = np.load(self.record_path)
        except (OSError, ValueError):
            return {}  # unknown: index everything again (each add deletes its id first)
        return dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist()))

    def _save_record(self, current: dict[int, int], signature: list) -> None:
        tmp = self.record_path.with_name(self.record_path.name + ".tmp")
        pairs = np.array(list(current.items()), dtype=np.int64).reshape(-1, 2)
        with open(tmp, "wb") as f:
            np.save(f, pairs)
        os.replace(tmp, self.record_path)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps({"signature": signature, "passages": len(current)}))
        os.replace(tmp, self.state_path)

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    # Reading (any process)

    def exists(self) -> bool:
        return (self.path / "meta.json").exists()

    def search(self, text, k) -> list[tuple[int, float]] | None:
        """(passage id, BM25 score) of the best ``k`` passages for ``text``'s words, best first.

        None when there is no index to ask (the caller falls back to FTS5).
        """
        terms = query_terms(text)
        if not terms:
            return []
        index = self._reader()
        if index is None:
            return None
        k = max(1, min(int(k or 10), MAX_K))
        # Each word becomes a term query through the index's own analyser (so it is stemmed alike);
        # quoting keeps any query syntax in the word from being read as such.
        query = index.parse_query(" ".join(f'"{t}"' for t in terms), ["text"])
        searcher = index.searcher()
        return [(searcher.doc(address)["id"][0], float(score)) for score, address in searcher.search(query, k).hits]

    def _reader(self) -> tantivy.Index | None:
        with self.lock:
            now = time.monotonic()
            if self._index is None:
                if not self.exists():
                    return None
                try:
                    self._index = tantivy.Index.open(str(self.path))
                except ValueError as e:
                    logger.warning("cannot open the keyword index %s: %s", self.path, e)
                    return None
                self._reloaded = now
            elif now - self._reloaded >= REFRESH_SECONDS:
                self._index.reload()  # a newer commit by the writer, if any
                self._reloaded = now
            return self._index


class KeywordSearch:
    """``kb_bm25(text, k)`` for SQL: the index's answer, or FTS5's where there is no index."""

    def __init__(self, db_path: str | Path):
        self.db_path = str(db_path)
        self.index = KeywordIndex(db_path)

    def bm25(self, text, k) -> list[tuple[int, float]]:
        hits = self.index.search(text, k)
        if hits is None:
            hits = self._fts5(text, k)
        return hits

    def _fts5(self, text, k) -> list[tuple[int, float]]:
        terms = query_terms(text)
        if not terms:
            return []
        db = storage.connect(self.db_path)
        try:
            rows = db.execute(
                "select rowid, -bm25(passages_fts) from passages_fts where passages_fts match ? "
                "order by bm25(passages_fts) limit ?",
                [fts_query(text), max(1, min(int(k or 10), MAX_K))],
            ).fetchall()
        finally:
            db.close()
        return [(row[0], row[1]) for row in rows]

    def bm25_json(self, text, k) -> str:
        return json.dumps(self.bm25(text, k))

    def register(self, conn) -> None:
        """Add kb_bm25() to a SQLite connection."""
        conn.create_function("kb_bm25", 2, self.bm25_json)


def sync_index(db_path: str | Path, rebuild: bool = False) -> str:
    """Bring ``DB.tantivy`` in line with the database (the writer's side); a summary line."""
    started = time.monotonic()
    index = KeywordIndex(db_path)
    db = storage.connect(db_path)
    try:
        if rebuild:
            added, removed = index.rebuild(db), 0
        else:
            added, removed = index.sync(db)
    finally:
        db.close()
    return f"keyword index: {added} passages added, {removed} removed in {time.monotonic() - started:.1f}s"
