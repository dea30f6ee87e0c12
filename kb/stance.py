"""stances.yml: viewpoints on the question, and labelling text with them.

Each stance has example sentences; a text's stance is the one whose examples
its sentence embedding is closest to (mean of the two best cosine
similarities), when that similarity reaches ``min_similarity``. The
confidence is the softmax weight of the winning stance, so a text halfway
between two stances gets a low one. Runs offline on the CPU with the same
model as the passage vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .yamlfile import YamlFileError, read_list_file

DEFAULT_STANCES_FILE = Path(__file__).resolve().parent.parent / "stances.yml"
TOP_KEYS = ("question", "min_similarity", "stances")
STANCE_KEYS = ("name", "description", "examples")
TEMPERATURE = 0.02


class StancesError(YamlFileError):
    """stances.yml cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Stance:
    name: str
    description: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class StanceSet:
    question: str
    min_similarity: float
    stances: tuple[Stance, ...]


def load_stances(path: str | Path = DEFAULT_STANCES_FILE) -> StanceSet:
    data, entries = read_list_file(path, "stances", "stance", STANCE_KEYS, StancesError, TOP_KEYS, min_items=2)
    threshold = data.get("min_similarity", 0.35)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold <= 1:
        line = data.key_lines.get("min_similarity", 1)
        raise StancesError(f"{path}:{line}: 'min_similarity' must be a number between -1 and 1")
    stances = []
    for entry, line in entries:
        examples = entry.get("examples")
        valid = isinstance(examples, list) and examples and all(isinstance(e, str) and e.strip() for e in examples)
        if not isinstance(entry.get("name"), str) or not valid:
            raise StancesError(f"{path}:{line}: a stance needs a 'name' and a list of example sentences")
        stances.append(Stance(entry["name"].strip(), str(entry.get("description") or ""), tuple(examples)))
    return StanceSet(str(data.get("question") or ""), float(threshold), tuple(stances))


class StanceClassifier:
    def __init__(self, stance_set: StanceSet, embedder):
        self.stance_set = stance_set
        self.embedder = embedder
        self.examples = [embedder.encode(list(s.examples)) for s in stance_set.stances]

    def classify(self, vectors: np.ndarray) -> list[tuple[str | None, float | None]]:
        """(stance, confidence) for each row of unit-length ``vectors``."""
        if len(vectors) == 0:
            return []
        scores = np.stack([np.sort(vectors @ ex.T, axis=1)[:, -2:].mean(axis=1) for ex in self.examples], axis=1)
        best = scores.argmax(axis=1)
        weights = np.exp((scores - scores.max(axis=1, keepdims=True)) / TEMPERATURE)
        confidence = weights[np.arange(len(best)), best] / weights.sum(axis=1)
        return [
            (self.stance_set.stances[b].name, round(float(c), 3)) if scores[i, b] >= self.stance_set.min_similarity
            else (None, None)
            for i, (b, c) in enumerate(zip(best, confidence))
        ]

    def classify_texts(self, texts: list[str]) -> list[tuple[str | None, float | None]]:
        return self.classify(self.embedder.encode(texts))
