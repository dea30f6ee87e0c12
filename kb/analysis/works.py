"""Republished copies: the same essay on several sites is one work.

Candidates come from MinHash LSH over word 5-shingles (datasketch), so the
cost stays near-linear in the number of documents; each candidate pair is
then confirmed on the exact shingle sets, by Jaccard similarity (an edited
copy) or by containment (a chapter inside a longer letter). Confirmed pairs
are joined transitively into works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
NUM_PERM = 128
LSH_THRESHOLD = 0.3  # generous: containment pairs have a low Jaccard
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
MIN_SHINGLES = 40  # a blurb quoting one paragraph is not a copy of the essay

_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 1))} if words else set()


def is_copy(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    overlap = len(a & b)
    if overlap / len(a | b) >= MIN_JACCARD:
        return True
    smaller = min(len(a), len(b))
    return smaller >= MIN_SHINGLES and overlap / smaller >= MIN_CONTAINMENT


def group_copies(documents: Iterable[tuple[int, str]]) -> list[list[int]]:
    """Groups of document ids that are copies of one work (singletons included), sorted."""
    sets: dict[int, set[str]] = {}
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    signatures = {}
    for doc_id, text in documents:
        sets[doc_id] = shingles(text)
        signature = MinHash(num_perm=NUM_PERM)
        signature.update_batch([s.encode("utf-8") for s in sets[doc_id]])
        signatures[doc_id] = signature
        lsh.insert(doc_id, signature)
    parent = {doc_id: doc_id for doc_id in sets}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc_id, signature in signatures.items():
        for other in lsh.query(signature):
            if other != doc_id and root(other) != root(doc_id) and is_copy(sets[doc_id], sets[other]):
                parent[max(root(doc_id), root(other))] = min(root(doc_id), root(other))
    groups: dict[int, list[int]] = {}
    for doc_id in sets:
        groups.setdefault(root(doc_id), []).append(doc_id)
    return sorted(sorted(g) for g in groups.values())
