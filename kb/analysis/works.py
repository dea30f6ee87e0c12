"""Republished copies: the same essay on several sites is one work.

Candidates come from MinHash LSH over word 5-shingles (datasketch's MinHash,
and the bands its MinHashLSH chooses for the threshold), so the cost stays
near-linear in the number of documents; each candidate pair is then
confirmed on the exact shingle sets, by Jaccard similarity (an edited copy)
or by containment (a chapter inside a longer letter). Confirmed pairs are
joined transitively into works.

`kb analyze` keeps each document's band keys and its confirmed pairs in the
database (kb.analysis.analyze._derive_copies), so a document is hashed and
compared once per version; ``group_copies`` does the same in memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
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


# The bands and rows per band datasketch picks for LSH_THRESHOLD (37 bands of 3 for 0.3 and 128).
_LSH = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
BANDS, ROWS = _LSH.b, _LSH.r
# What stored band keys and pairs depend on besides the text: a change here compares everything again.
COPIES_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:32]


def band_keys(shingle_set: set[str]) -> list[int]:
    """The document's LSH band keys: documents sharing one are candidate copies (signed 64-bit ints)."""
    signature = MinHash(num_perm=NUM_PERM)
    signature.update_batch([s.encode("utf-8") for s in shingle_set])
    values = signature.hashvalues.astype("<u8")
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            np.uint64(band).tobytes() + values[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8
        )
        keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


def components(ids: Iterable[int], pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Groups of ``ids`` joined by ``pairs`` (transitively), singletons included, sorted."""
    parent = {doc_id: doc_id for doc_id in ids}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        if a in parent and b in parent:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for doc_id in parent:
        groups.setdefault(root(doc_id), []).append(doc_id)
    return sorted(sorted(g) for g in groups.values())


def group_copies(documents: Iterable[tuple[int, str]]) -> list[list[int]]:
    """Groups of document ids that are copies of one work (singletons included), sorted; in memory."""
    sets: dict[int, set[str]] = {}
    by_key: dict[int, list[int]] = {}
    pairs = []
    for doc_id, text in documents:
        sets[doc_id] = shingles(text)
        candidates = set()
        for key in band_keys(sets[doc_id]):
            candidates.update(by_key.setdefault(key, []))
            by_key[key].append(doc_id)
        pairs += [(other, doc_id) for other in sorted(candidates) if is_copy(sets[doc_id], sets[other])]
    return components(sets, pairs)
