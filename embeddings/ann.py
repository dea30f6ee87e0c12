"""An approximate-nearest-neighbour index: a usearch HNSW graph of keyed vectors, kept in a file.

Exact search reads every vector, which stops being interactive somewhere past
a hundred thousand passages (about 600 ms at a million, see BENCHMARKS.md),
so semantic search goes through this graph instead. The index knows keys and
vectors only; kb.vectors.PassageIndex keeps it in line with a database.

The graph is saved to ``path`` with a small JSON file beside it
(``path + ".json"``) holding the caller's state, so an index whose state says
it is up to date is loaded without reading any vectors. Readers map the file
(``view``) rather than load it: nothing is read until a search touches it,
and every process serving the database shares the same pages. So a save
writes a new file and renames it over the old one, never rewriting a file
that another process has mapped. Not thread-safe: callers that share one
index hold a lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from usearch.index import Index

CONNECTIVITY = 16
EXPANSION_ADD = 128
# Measured at 1M passages (BENCHMARKS.md): 64 -> recall@10 0.91, 256 -> 0.96, 512 -> 0.99 at 1.8 ms.
EXPANSION_SEARCH = 512


class AnnIndex:
    def __init__(self, path: str | Path, dimensions: int):
        self.path = Path(path)
        self.state_path = Path(f"{path}.json")
        self.dimensions = dimensions
        self.index = self._new_index()
        self.mapped = False  # a view of the file: searched, never changed

    def _new_index(self) -> Index:
        return Index(
            ndim=self.dimensions,
            metric="cos",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def __len__(self) -> int:
        return len(self.index)

    def saved_state(self) -> dict | None:
        """The state saved with the graph, or None when there is none usable."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and state.get("dimensions") == self.dimensions else None

    def load(self) -> dict | None:
        """Read the saved graph into memory (to change it); its saved state, or None."""
        return self._open(view=False)

    def view(self) -> dict | None:
        """Map the saved graph read-only (to search it); its saved state, or None."""
        return self._open(view=True)

    def _open(self, view: bool) -> dict | None:
        state = self.saved_state()
        if state is None:
            return None
        index = self._new_index()
        try:
            if view:
                index.view(str(self.path))
            else:
                index.load(str(self.path))
        except (OSError, ValueError, RuntimeError):
            return None
        self.index, self.mapped = index, view
        return state

    def save(self, state: dict) -> None:
        """Write the graph, then ``state`` beside it, each to a new file renamed over the old one."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.index.save(str(tmp))
        os.replace(tmp, self.path)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**state, "dimensions": self.dimensions, "size": len(self.index)}))
        tmp.replace(self.state_path)

    def remove_files(self) -> None:
        for path in (self.path, self.state_path):
            path.unlink(missing_ok=True)

    def key_array(self) -> np.ndarray:
        # np.asarray reads all keys at once; iterating index.keys is one C call per key.
        return np.asarray(self.index.keys, dtype=np.int64)

    def keys(self) -> list[int]:
        return self.key_array().tolist()

    def add(self, keys: list[int], vectors: np.ndarray) -> None:
        self.index.add(np.array(keys, dtype=np.uint64), vectors)

    def remove(self, keys: list[int]) -> None:
        if keys:
            self.index.remove(np.array(keys, dtype=np.uint64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine distance) of the k nearest vectors, nearest first."""
        if len(self.index) == 0:
            return []
        self.index.expansion_search = max(EXPANSION_SEARCH, 2 * k)
        matches = self.index.search(vector, min(k, len(self.index)))
        return [(int(key), float(distance)) for key, distance in zip(matches.keys, matches.distances)]
