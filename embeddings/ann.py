"""An approximate-nearest-neighbour index (usearch HNSW) kept in sync with SQLite.

The passage_vectors table is the truth; vec_passages (sqlite-vec) answers exact
KNN in SQL. Exact search reads every vector, which stops being interactive
somewhere past a hundred thousand passages (about 600 ms at a million, see
BENCHMARKS.md), so semantic search goes through this HNSW graph instead.

The graph lives in a file next to the database (``kb.db.usearch``), written
only by the process that writes vectors (`kb embed`, `kb crawl`). Its keys
are passage_vectors.id, which changes whenever a vector is replaced, so syncing is
a set difference: remove keys that are gone, add rows that are new. A small
JSON file beside it remembers the passage_vectors signature it was synced at, so
an up-to-date index is loaded without reading any vectors.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from usearch.index import Index

from kb import storage

CONNECTIVITY = 16
EXPANSION_ADD = 128
# Measured at 1M passages (BENCHMARKS.md): 64 -> recall@10 0.91, 256 -> 0.96, 512 -> 0.99 at 1.8 ms.
EXPANSION_SEARCH = 512


class AnnIndex:
    def __init__(self, db_path: str | Path, dimensions: int):
        self.path = Path(f"{db_path}.usearch")
        self.state_path = Path(f"{db_path}.usearch.json")
        self.dimensions = dimensions
        self.lock = threading.RLock()
        self.index = self._new_index()
        self.passage_of: dict[int, int] = {}
        self.signature: tuple[int, int] | None = None

    def _new_index(self) -> Index:
        return Index(
            ndim=self.dimensions,
            metric="cos",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def load(self, db) -> bool:
        """Load the saved graph, if any; sync() then applies what changed since."""
        try:
            state = json.loads(self.state_path.read_text())
            if state.get("dimensions") != self.dimensions:
                return False
            index = self._new_index()
            index.load(str(self.path))
        except (OSError, ValueError, RuntimeError):
            return False
        with self.lock:
            self.index = index
            # np.asarray reads all keys at once; iterating index.keys is one C call per key.
            self.passage_of = dict.fromkeys(np.asarray(index.keys).tolist(), -1)  # filled in by sync()
            self.signature = None
        self.sync(db, save=False)
        return True

    def sync(self, db, save: bool = True) -> tuple[int, int]:
        """Bring the graph in line with the embeddings table; returns (added, removed)."""
        signature = storage.embeddings_signature(db)
        if signature == self.signature:
            return 0, 0
        current = {row[0]: row[1] for row in db.execute("select id, passage_id from passage_vectors")}
        with self.lock:
            removed = [key for key in self.passage_of if key not in current]
            if removed:
                self.index.remove(np.array(removed, dtype=np.uint64))
            missing = sorted(key for key in current if key not in self.passage_of)
            for rows in storage.embeddings_by_id(db, missing):
                keys = np.array([r[0] for r in rows], dtype=np.uint64)
                vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
                self.index.add(keys, vectors)
            self.passage_of = current
            self.signature = signature
            if save:
                self.save()
        return len(missing), len(removed)

    def save(self) -> None:
        with self.lock:
            self.index.save(str(self.path))
            state = {
                "dimensions": self.dimensions,
                "size": len(self.index),
                "signature": list(self.signature or (0, 0)),
            }
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.state_path)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage id, cosine distance) of the k nearest passages, nearest first."""
        with self.lock:
            if len(self.index) == 0:
                return []
            self.index.expansion_search = max(EXPANSION_SEARCH, 2 * k)
            matches = self.index.search(vector, min(k, len(self.index)))
            return [
                (self.passage_of[int(key)], float(distance))
                for key, distance in zip(matches.keys, matches.distances)
                if int(key) in self.passage_of
            ]
