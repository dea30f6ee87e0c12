"""The database's vectors: incremental embedding, and the HNSW graph kept in line with them.

A passage needs a vector when no passage_vectors row has its current content
hash for the model in use, so a second run on an unchanged database encodes
nothing. Vectors from another model are dropped first: never mixed.

passage_vectors is the truth; vec_passages (sqlite-vec) answers exact KNN in
SQL, and PassageIndex keeps an HNSW graph (embeddings.ann) in a file next to
the database (``kb.db.usearch``), written only by the process that writes
vectors (`kb embed`, `kb crawl`). Its keys are passage_vectors.id, which
changes whenever a vector is replaced, so syncing is a set difference: remove
keys that are gone, add rows that are new. The state saved beside the graph
remembers the passage_vectors signature it was synced at, so an up-to-date
graph is loaded without reading any vectors. Readers (search, `kb serve`)
map that file instead of loading it (MappedPassageIndex), so they start at
once and share its pages.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.ann import AnnIndex
from embeddings.model import Embedder, get_embedder, model_name

from . import storage
from .progress import Progress

BATCH_SIZE = 256  # passages written per transaction


@dataclass
class EmbedReport:
    model: str
    encoded: int
    dropped: int  # vectors from another model, removed
    seconds: float
    left: int = 0  # passages left for the next run when the deadline came

    def summary(self) -> str:
        rate = self.encoded / self.seconds if self.seconds else 0.0
        dropped = f", dropped {self.dropped} vectors of another model" if self.dropped else ""
        left = f", {self.left} left for the next run (time budget)" if self.left else ""
        return (
            f"embedded {self.encoded} passages with {self.model} in {self.seconds:.1f}s ({rate:.1f}/s){dropped}{left}"
        )


def embed_pending(
    db_path: str | Path,
    embedder: Embedder,
    batch_size: int = BATCH_SIZE,
    progress_stream=None,
    deadline: float | None = None,
    progress: bool = True,
) -> EmbedReport:
    """Encode every passage lacking a vector for ``embedder``'s model, and update the indexes.

    With a ``deadline`` (time.monotonic()), stops between batches once it has
    passed; what is left is picked up by the next run.
    """
    started = time.monotonic()
    db = storage.open_db(db_path)
    try:
        dropped = storage.delete_embeddings_except(db, embedder.name, embedder.dimensions)
        pending = storage.passages_to_embed(db, embedder.name)
        # Longest first: batches of similar length pad less, and the ETA is pessimistic, not rosy.
        pending.sort(key=lambda row: len(row["text"]), reverse=True)
        bar = Progress(len(pending), "passages", "embedded", progress_stream, enabled=progress)
        encoded = 0
        try:
            for i in range(0, len(pending), batch_size):
                if deadline is not None and time.monotonic() > deadline:
                    break
                batch = pending[i : i + batch_size]
                vectors = embedder.encode([row["text"] for row in batch])
                storage.save_embeddings(
                    db,
                    embedder.name,
                    embedder.dimensions,
                    [
                        (row["id"], row["content_hash"], vector.astype("<f4").tobytes())
                        for row, vector in zip(batch, vectors)
                    ],
                )
                encoded += len(batch)
                bar.update(len(batch))
        finally:
            bar.close()
        PassageIndex(db_path, embedder.dimensions).update_file(db)
    finally:
        db.close()
    return EmbedReport(embedder.name, encoded, dropped, time.monotonic() - started, len(pending) - encoded)


def embed_new_passages(
    db_path: str | Path, model: str, deadline: float | None = None, progress: bool = True
) -> EmbedReport:
    """``embed_pending`` for ``model``, loading the model only if some passage needs a vector.

    A re-crawl that changed nothing should not pay seconds to load a model
    for zero passages; the vector index still drops the vectors of passages
    that changed pages lost.
    """
    started = time.monotonic()
    db = storage.open_db(db_path)
    try:
        current = all(m["model"] == model for m in storage.embedding_models(db))
        if current and storage.count_passages_to_embed(db, model) == 0:
            dimensions = storage.vector_index_dimensions(db)
            if dimensions:
                PassageIndex(db_path, dimensions).update_file(db)
            return EmbedReport(model, 0, 0, time.monotonic() - started)
    finally:
        db.close()
    return embed_pending(db_path, get_embedder(model), deadline=deadline, progress=progress)


def resolve_model(db_path: str | Path, requested: str | None = None) -> str:
    """The model to embed with: the one asked for, else the one the database's
    vectors already use (so a plain run never switches models), else the default."""
    if requested or os.environ.get("KB_MODEL"):
        return model_name(requested)
    if Path(db_path).is_file():
        db = storage.connect(db_path)
        try:
            models = storage.embedding_models(db)
        finally:
            db.close()
        if len(models) == 1:
            return models[0]["model"]
    return model_name(None)


def rebuild_indexes(db_path: str | Path) -> str:
    """Rebuild vec_passages and the HNSW file from the embeddings table."""
    db = storage.open_db(db_path)
    try:
        count = storage.rebuild_vector_index(db)
        dimensions = storage.vector_index_dimensions(db)
        index = PassageIndex(db_path, dimensions)
        index.ann.remove_files()
        index.sync(db)
    finally:
        db.close()
    return f"rebuilt the vector indexes from {count} vectors"


class PassageIndex:
    """The HNSW graph of one database's passage_vectors, in memory, as the writer keeps it (thread-safe)."""

    def __init__(self, db_path: str | Path, dimensions: int):
        self.ann = AnnIndex(f"{db_path}.usearch", dimensions)
        self.lock = threading.RLock()
        self.passage_of: dict[int, int] = {}  # vector id -> passage id
        self.signature: tuple[int, int] | None = None

    def load(self, db, save: bool = False) -> tuple[int, int] | None:
        """Load the saved graph and apply what changed since it was saved (saving it with ``save``):
        (added, removed); None when there is no usable saved graph."""
        with self.lock:
            if self.ann.load() is None:
                return None
            self.passage_of = dict.fromkeys(self.ann.keys(), -1)  # filled in by sync()
            self.signature = None
        return self.sync(db, save=save)

    def update_file(self, db) -> tuple[int, int]:
        """The writer's side: the saved graph brought in line with passage_vectors and saved again,
        adding and removing only what changed (built from every vector only when there is none);
        left as it is when its saved state says it is current. Returns (added, removed)."""
        state = self.ann.saved_state()
        if state and state.get("signature") == list(storage.embeddings_signature(db)) and self.ann.path.is_file():
            return 0, 0
        changed = self.load(db, save=True)
        return changed if changed is not None else self.sync(db)

    def sync(self, db, save: bool = True) -> tuple[int, int]:
        """Bring the graph in line with passage_vectors; returns (added, removed)."""
        signature = storage.embeddings_signature(db)
        if signature == self.signature:
            return 0, 0
        current = {row[0]: row[1] for row in db.execute("select id, passage_id from passage_vectors")}
        with self.lock:
            removed = [key for key in self.passage_of if key not in current]
            self.ann.remove(removed)
            missing = sorted(key for key in current if key not in self.passage_of)
            _add_vectors(self.ann, db, missing)
            self.passage_of = current
            self.signature = signature
            if save:
                self.ann.save({"signature": list(signature)})
        return len(missing), len(removed)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage id, cosine distance) of the k nearest passages, nearest first."""
        with self.lock:
            return [
                (self.passage_of[key], distance)
                for key, distance in self.ann.search(vector, k)
                if key in self.passage_of
            ]


class MappedPassageIndex:
    """A reader's HNSW graph: the writer's file, memory-mapped, and the vectors stored since it was saved.

    Serving starts without reading the graph or its keys (at a million
    passages, loading the file took 5 s and the vector-to-passage map 1 s
    more, in every server process). A search asks the mapped graph and a
    small in-memory graph of the vectors the file lacks, and finds the
    passages of the nearest vectors in SQL, which also drops vectors removed
    since. When the writer saves a newer file, the next sync maps that one.
    """

    def __init__(self, db_path: str | Path, dimensions: int):
        self.path = f"{db_path}.usearch"
        self.dimensions = dimensions
        self.lock = threading.RLock()
        self.mapped = AnnIndex(self.path, dimensions)
        self.added = AnnIndex(self.path, dimensions)  # in memory, never saved
        self.removed = 0  # vectors of the mapped file gone from the database
        self.signature: tuple[int, int] | None = None
        self.saved_at: int | None = None  # when the writer last saved the file we know of
        self.mapped_signature: tuple[int, int] | None = None

    def sync(self, db) -> None:
        """Follow passage_vectors: map the writer's newer file, or add to memory what the file lacks."""
        signature = storage.embeddings_signature(db)
        saved_at = _modified(self.mapped.state_path)
        if (signature, saved_at) == (self.signature, self.saved_at):
            return
        with self.lock:
            self.saved_at = saved_at
            state = self.mapped.saved_state()
            saved = tuple(state["signature"]) if state and "signature" in state else None
            if saved is not None and saved != self.mapped_signature:
                mapped = AnnIndex(self.path, self.dimensions)
                if mapped.view() is not None:
                    self.mapped, self.mapped_signature = mapped, saved
                    self.added, self.removed = AnnIndex(self.path, self.dimensions), 0
            if self.mapped_signature != signature:
                self._catch_up(db)
            self.signature = signature

    def _catch_up(self, db) -> None:
        """Add to memory the stored vectors that neither graph has; count the mapped ones gone."""
        stored = np.fromiter((row[0] for row in db.execute("select id from passage_vectors")), dtype=np.int64)
        mapped = self.mapped.key_array()
        graphed = np.union1d(mapped, self.added.key_array())
        self.removed = int(np.setdiff1d(mapped, stored, assume_unique=True).size)
        _add_vectors(self.added, db, np.setdiff1d(stored, graphed, assume_unique=True).tolist())

    def search(self, db, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage id, cosine distance) of the k nearest passages, nearest first."""
        with self.lock:
            # Removed vectors still in the file come back from it: ask for enough more.
            hits = self.mapped.search(vector, k + self.removed) + self.added.search(vector, k)
        hits.sort(key=lambda hit: hit[1])
        passage_of = dict(
            db.execute(
                "select id, passage_id from passage_vectors where id in (select value from json_each(?))",
                [json.dumps([key for key, _ in hits])],
            ).fetchall()
        )
        return [(passage_of[key], distance) for key, distance in hits if key in passage_of][:k]


def _modified(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _add_vectors(ann: AnnIndex, db, ids: list[int]) -> None:
    for rows in storage.embeddings_by_id(db, ids):
        vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
        ann.add([r[0] for r in rows], vectors)
