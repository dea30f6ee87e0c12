"""Semantic search at scale: latency (query embedding included) and recall@10.

For each size (10k, 100k, 1M passages by default) it builds, once, a
synthetic knowledge base in bench/cache/ through kb.storage and
kb.vectors, exactly as `kb embed` would, then times

- hnsw: SemanticSearch.knn, the path behind kb_knn() and the semantic and
  hybrid canned queries (embed the query, search the usearch graph);
- vec0: the same query embedded, then exact KNN in sqlite-vec (the baseline);

and measures recall@10 of the HNSW step against exact brute force (numpy).

Synthetic passages stay on the real embedding manifold: each vector is a
random mix of two real sentence embeddings plus a little noise, and the
queries are real questions embedded by the model at query time.

    python bench/vector_search.py                 # 10k, 100k, 1M
    python bench/vector_search.py --sizes 10000   # quick
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile_ms, remove_database, write_results  # noqa: E402
from embeddings.model import get_embedder  # noqa: E402
from kb import storage  # noqa: E402
from kb.search.semantic import SemanticSearch  # noqa: E402
from kb.vectors import PassageIndex  # noqa: E402

CACHE = ROOT / "bench" / "cache"
PASSAGES_PER_DOCUMENT = 100
QUESTIONS = [
    "do I need calculus to train neural networks?",
    "how much linear algebra should a machine learning engineer know?",
    "is probability theory useful for data science interviews?",
    "what math should students take early for a career in AI?",
    "can I learn deep learning without a strong math background?",
    "why does understanding gradient descent help debugging?",
    "which topics in statistics matter for machine learning?",
    "should I learn the math before or after building models?",
    "how do optimisers like Adam and momentum work?",
    "is a computer science degree enough for machine learning research?",
]


def sentences() -> list[str]:
    """Real clauses to anchor the synthetic vectors: the sample site and the seeds."""
    from crawler.extract import extract_article

    texts = []
    for page in (ROOT / "kb" / "sample_site").rglob("*.html"):
        try:
            texts.append(extract_article(page.read_text(), "http://127.0.0.1/")["text"])
        except ValueError:
            pass
    seeds = ROOT.parent / "shared" / "seeds"
    texts += [p.read_text() for p in sorted(seeds.glob("*.txt"))] if seeds.exists() else []
    parts = [s.strip(" .") for t in texts for s in re.split(r"[.,;:!?\n]", t) if len(s.split()) >= 4]
    return sorted(set(parts))


def build(size: int, embedder, rng, cache: Path = CACHE) -> Path:
    path = cache / f"synthetic-{size}.db"
    if path.exists() and Path(f"{path}.usearch").exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    remove_database(path)
    anchors_text = sentences()
    anchors = embedder.encode(anchors_text)
    print(f"[{size}] building from {len(anchors_text)} anchor sentences", flush=True)
    db = storage.open_db(path)
    started = time.monotonic()
    pending = []
    for d in range(size // PASSAGES_PER_DOCUMENT):
        picks = rng.integers(0, len(anchors_text), (PASSAGES_PER_DOCUMENT, 2))
        paragraphs = [f"{anchors_text[a]}. {anchors_text[b]}." for a, b in picks]
        spans, offset = [], 0
        for p in paragraphs:
            spans.append((offset, offset + len(p)))
            offset += len(p) + 1
        document = {"url": f"http://synthetic.invalid/{d}", "title": f"Synthetic {d}", "text": "\n".join(paragraphs)}
        storage.save_document(db, document, spans)
        rows = db.execute(
            "select passages.id, passages.content_hash from passages join documents on documents.id = document_id "
            "where documents.url = ? order by seq",
            [document["url"]],
        ).fetchall()
        for (passage_id, passage_hash), (a, b) in zip(rows, picks):
            v = anchors[a] + rng.uniform(0.2, 0.8) * anchors[b] + rng.normal(0, 0.02, anchors.shape[1])
            pending.append((passage_id, passage_hash, (v / np.linalg.norm(v)).astype("<f4").tobytes()))
        if len(pending) >= 20000 or d == size // PASSAGES_PER_DOCUMENT - 1:
            storage.save_embeddings(db, embedder.name, embedder.dimensions, pending)
            pending = []
            print(
                f"[{size}] {(d + 1) * PASSAGES_PER_DOCUMENT} passages in {time.monotonic() - started:.0f}s", flush=True
            )
    started = time.monotonic()
    PassageIndex(path, embedder.dimensions).sync(db)
    print(f"[{size}] HNSW built in {time.monotonic() - started:.0f}s", flush=True)
    db.close()
    return path


def all_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    db = storage.connect(path)
    ids, blobs = [], []
    for rows in storage.embeddings_by_id(db, [r[0] for r in db.execute("select id from passage_vectors")]):
        ids += [r[1] for r in rows]
        blobs += [r[2] for r in rows]
    db.close()
    return np.array(ids), np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), -1)


def recall_at_10(ids: np.ndarray, matrix: np.ndarray, vector: np.ndarray, hits) -> float:
    """Share of the exact ten nearest passages (numpy brute force) among ``hits``, (passage id, distance) pairs."""
    truth = ids[np.argpartition(-(matrix @ vector), 10)[:10]]
    return len({p for p, _ in hits} & set(truth.tolist())) / 10


def measure(size: int, embedder, rng, vec0_queries: int, cache: Path = CACHE) -> dict:
    path = build(size, embedder, rng, cache)
    search = SemanticSearch(path)
    search.warm()
    ids, matrix = all_vectors(path)
    db = storage.connect(path)
    hnsw, exact, recalls, answers = [], [], [], []
    for round_ in range(5):
        for question in QUESTIONS:
            query = f"{question} ({round_})"  # distinct text: no cache hits
            started = time.perf_counter()
            hits = search.knn(query, 10)
            hnsw.append(time.perf_counter() - started)
            answers.append((query, hits))
    # Ground truth afterwards: numpy's BLAS threads would otherwise compete with the timed queries.
    for query, hits in answers:
        recalls.append(recall_at_10(ids, matrix, np.frombuffer(search.query_vector(query), dtype="<f4"), hits))
    for question in QUESTIONS[:vec0_queries]:
        query = f"{question} (vec0)"
        started = time.perf_counter()
        blob = search.query_vector(query)
        db.execute("select passage_id from vec_passages where embedding match ? and k = 10", [blob]).fetchall()
        exact.append(time.perf_counter() - started)
    db.close()
    result = {
        "passages": size,
        "hnsw_p50_ms": percentile_ms(hnsw, 50),
        "hnsw_p95_ms": percentile_ms(hnsw, 95),
        "recall_at_10": round(statistics.mean(recalls), 4),
        "vec0_exact_p50_ms": round(percentile_ms(exact, 50), 1),
        "speedup_vs_vec0": round(percentile_ms(exact, 50) / percentile_ms(hnsw, 50), 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--cache", default=str(CACHE), help="where the synthetic databases are kept")
    args = parser.parse_args()
    import torch

    embedder = get_embedder()
    rng = np.random.default_rng(42)
    results = [
        measure(int(s), embedder, rng, vec0_queries=10 if int(s) < 1_000_000 else 5, cache=Path(args.cache))
        for s in args.sizes.split(",")
    ]
    write_results(args.output, "vector_search", {"torch_threads": torch.get_num_threads(), "results": results})


if __name__ == "__main__":
    main()
