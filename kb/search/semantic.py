"""Semantic search as SQL functions, so the CLI and Datasette share one path.

Two functions are registered on a connection:

- ``kb_embed(text)`` returns the query's vector (float32 blob) for sqlite-vec,
  e.g. ``where embedding match kb_embed(:q) and k = 10`` on vec_passages;
- ``kb_knn(text, k)`` returns a JSON array of ``[passage_id, distance]``, nearest
  first, from the HNSW index; the canned queries read it with json_each().

A paragraph often answers a question only with the paragraphs around it (the
question names the topic the paragraph before introduced). So the nearest
``CONTEXT_CANDIDATES`` passages are re-scored with their neighbours in the
document: the similarity becomes (own + w * mean of the previous and next
passages') / (1 + w), w being $KB_CONTEXT_WEIGHT (default 0.2; 0 turns it
off). Measured on a real blog with paraphrased questions (bench/retrieval.py):
semantic MRR@10 0.48 -> 0.52.

The model is the one the database's vectors were made with (its compiled copy
where a previous process prepared one: embeddings.model.get_query_encoder), loaded once per
process; query vectors are cached, and queries are capped in length.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from embeddings.model import MAX_QUERY_CHARS, get_query_encoder, model_name

from .. import storage
from ..vectors import MappedPassageIndex

logger = logging.getLogger(__name__)

MAX_K = 1000
REFRESH_SECONDS = 5.0
CONTEXT_CANDIDATES = 100
DEFAULT_CONTEXT_WEIGHT = 0.2


def context_weight() -> float:
    """$KB_CONTEXT_WEIGHT, checked: how much a passage's neighbours count in its similarity (0 to 1)."""
    value = os.environ.get("KB_CONTEXT_WEIGHT", "").strip()
    if not value:
        return DEFAULT_CONTEXT_WEIGHT
    try:
        weight = float(value)
    except ValueError:
        weight = -1.0
    if not 0 <= weight <= 1:
        raise SearchError(f"KB_CONTEXT_WEIGHT must be a number from 0 to 1, not '{value}'")
    return weight


class SearchError(ValueError):
    """A search that cannot run; the message says what to do."""


class SemanticSearch:
    """Query side of the vectors of one database (thread-safe)."""

    def __init__(self, db_path: str | Path, model: str | None = None):
        self.db_path = str(db_path)
        self.requested_model = model
        self.lock = threading.RLock()
        self._encoder = None  # embeddings.model.get_query_encoder()
        self._ann: MappedPassageIndex | None = None
        self._signature: tuple[int, int] | None = None
        self._checked = 0.0
        self.embed_text = lru_cache(maxsize=2048)(self._embed_text)

    def _refresh(self) -> None:
        """Follow the database: its model, and new or replaced vectors (every few seconds)."""
        with self.lock:
            now = time.monotonic()
            if self._encoder is not None and now - self._checked < REFRESH_SECONDS:
                return
            db = storage.connect(self.db_path)
            try:
                signature = storage.embeddings_signature(db)
                if self._encoder is None or signature != self._signature:
                    wanted = self._model_of(db)
                    if self._encoder is None or self._encoder.name != wanted:
                        self._encoder = get_query_encoder(wanted)
                        self.embed_text.cache_clear()
                        self._ann = None
                    if self._ann is None:
                        self._ann = MappedPassageIndex(self.db_path, self._encoder.dimensions)
                    self._ann.sync(db)
                    self._signature = signature
            finally:
                db.close()
            self._checked = now

    def _model_of(self, db) -> str:
        """The model of the stored vectors (or the configured one when there are none)."""
        models = storage.embedding_models(db)
        if len(models) > 1:
            found = ", ".join(f"{m['model']} ({m['dimensions']} dimensions)" for m in models)
            raise SearchError(f"the database holds vectors from several models: {found}; run `kb embed` to re-embed")
        return models[0]["model"] if models else model_name(self.requested_model)

    @property
    def model(self) -> str:
        self._refresh()
        return self._encoder.name

    def _embed_text(self, text: str) -> bytes:
        return self._encoder.encode_query(text).astype("<f4").tobytes()

    def query_vector(self, text) -> bytes | None:
        """The query's vector, or None for an empty query."""
        if not isinstance(text, str) or not text.strip():
            return None
        self._refresh()
        return self.embed_text(text.strip()[:MAX_QUERY_CHARS])

    def knn(self, text, k) -> list[tuple[int, float]]:
        vector = self.query_vector(text)
        if vector is None:
            return []
        k = max(1, min(int(k or 10), MAX_K))
        query = np.frombuffer(vector, dtype="<f4")
        weight = context_weight()
        db = storage.connect(self.db_path)
        try:
            if not weight:
                return self._ann.search(db, query, k)
            hits = self._ann.search(db, query, max(k, CONTEXT_CANDIDATES))
            return self._with_context(db, query, hits, weight)[:k]
        finally:
            db.close()

    def _with_context(
        self, db, query: np.ndarray, hits: list[tuple[int, float]], weight: float
    ) -> list[tuple[int, float]]:
        """The hits re-scored with their neighbours' similarity to the query, nearest first."""
        if not hits:
            return hits
        ids = [passage_id for passage_id, _ in hits]
        rows = db.execute(
            "select p.id, e.vector from passages p join passages n on n.document_id = p.document_id "
            "and n.seq in (p.seq - 1, p.seq + 1) join passage_vectors e on e.passage_id = n.id "
            f"where p.id in ({','.join('?' * len(ids))})",
            ids,
        ).fetchall()
        around: dict[int, list[float]] = {}
        for passage_id, blob in rows:
            around.setdefault(passage_id, []).append(float(np.frombuffer(blob, dtype="<f4") @ query))
        rescored = []
        for passage_id, distance in hits:
            own = 1 - distance
            neighbours = around.get(passage_id)
            context = sum(neighbours) / len(neighbours) if neighbours else own
            rescored.append((passage_id, 1 - (own + weight * context) / (1 + weight)))
        return sorted(rescored, key=lambda hit: hit[1])

    def knn_json(self, text, k) -> str:
        return json.dumps(self.knn(text, k))

    def warm(self) -> None:
        """Load the model and the index now, so the first real query is fast.

        Torch prepares kernels per input length on first use; encoding one
        text of each common query length moves that cost to startup.
        """
        self._refresh()
        for words in range(1, 41):
            self._encoder.encode_query(" ".join(["math"] * words))

    def register(self, conn) -> None:
        """Add kb_embed() and kb_knn() to a SQLite connection."""
        conn.create_function("kb_embed", 1, self.query_vector)
        conn.create_function("kb_knn", 2, self.knn_json)
