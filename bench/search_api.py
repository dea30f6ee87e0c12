"""Search through the real server: latency per search mode, recall@10, start-up.

For each size (10k, 100k, 1M passages by default) the synthetic knowledge
base of bench/vector_search.py (built once, cached in bench/cache/) is
brought up to the current schema and served by the real `kb serve` in a
child process. Then, over HTTP (httpx, one keep-alive connection, one query
at a time, ``_shape=array``):

- startup_s: from launching `kb serve` to its first answered semantic query
  (Datasette, the embedding model and the HNSW index all loaded);
- p50/p95 latency of keyword (/kb/search.json), semantic
  (/kb/semantic_search.json) and hybrid (/kb/hybrid_search.json) searches:
  50 distinct questions per mode after a warm-up, none seen before by the
  server, so no query vector comes from its cache;
- recall@10 of the vector step: kb_knn() through /kb.json?sql= against
  exact brute force in numpy over every stored vector.

Target: hybrid p50 under 50 ms at 1M passages.

    python bench/search_api.py                    # 10k, 100k, 1M
    python bench/search_api.py --sizes 10000      # quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import KbServer, percentile_ms, write_results  # noqa: E402
from bench.vector_search import CACHE, QUESTIONS, all_vectors, build, recall_at_10  # noqa: E402
from embeddings.model import get_embedder  # noqa: E402
from kb import storage  # noqa: E402
from kb.search.keyword_index import sync_index  # noqa: E402

ENDPOINTS = {"keyword": "/kb/search.json", "semantic": "/kb/semantic_search.json", "hybrid": "/kb/hybrid_search.json"}
ROUNDS = 5  # rounds of QUESTIONS per mode: 50 timed queries
WARM_UP_ROUND = 99
KNN_SQL = "select kb_knn(:q, 10) as hits, hex(kb_embed(:q)) as vector"


def questions(first_round: int, rounds: int = ROUNDS) -> list[str]:
    """Distinct query texts (a round number appended), so the server's query-vector cache never answers."""
    return [f"{question} ({r})" for r in range(first_round, first_round + rounds) for question in QUESTIONS]


def database(size: int, cache: Path) -> Path:
    """The cached synthetic database, migrated and keyword-indexed as `kb crawl` leaves a database.

    `kb serve` never migrates (it only reads); databases cached by older code
    lack the views and indexes the canned queries and facets use.
    """
    path = build(size, get_embedder(), np.random.default_rng(42), cache)
    storage.open_db(path).close()
    print(f"[{size}] {sync_index(path)}", flush=True)  # as `kb crawl` does; once per cached database
    return path


def latencies(client: httpx.Client, endpoint: str, texts: list[str]) -> list[float]:
    """Seconds per search, one after another; any answer but 200 stops the benchmark."""
    seconds = []
    for text in texts:
        started = time.perf_counter()
        response = client.get(endpoint, params={"q": text, "_shape": "array"})
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    return seconds


def vector_answers(client: httpx.Client, texts: list[str]) -> list[tuple[list, np.ndarray]]:
    """kb_knn()'s ten nearest and the query vector, as the server computes them, per text."""
    answers = []
    for text in texts:
        response = client.get("/kb.json", params={"sql": KNN_SQL, "q": text, "_shape": "array"})
        response.raise_for_status()
        (row,) = response.json()
        answers.append((json.loads(row["hits"]), np.frombuffer(bytes.fromhex(row["vector"]), dtype="<f4")))
    return answers


def measure(size: int, cache: Path) -> dict:
    path = database(size, cache)
    result: dict = {"passages": size}
    with KbServer(path) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        result["startup_s"] = server.startup_s
        for i, (mode, endpoint) in enumerate(ENDPOINTS.items()):
            latencies(client, endpoint, questions(WARM_UP_ROUND + i, 1)[:5])
            seconds = latencies(client, endpoint, questions(i * ROUNDS))
            result[f"{mode}_p50_ms"] = percentile_ms(seconds, 50)
            result[f"{mode}_p95_ms"] = percentile_ms(seconds, 95)
        answers = vector_answers(client, questions(len(ENDPOINTS) * ROUNDS))
    # Ground truth once the server is gone: loading every vector competes for memory and cores.
    ids, matrix = all_vectors(path)
    result["recall_at_10"] = round(statistics.mean(recall_at_10(ids, matrix, v, hits) for hits, v in answers), 4)
    result["queries_per_mode"] = len(QUESTIONS) * ROUNDS
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--cache", default=str(CACHE), help="where the synthetic databases are kept")
    args = parser.parse_args()
    results = [measure(int(size), Path(args.cache)) for size in args.sizes.split(",")]
    write_results(args.output, "search_api", {"target": "hybrid_p50_ms < 50 at 1000000 passages", "results": results})


if __name__ == "__main__":
    main()
