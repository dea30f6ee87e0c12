"""Serving throughput: concurrent clients against the real `kb serve`, per endpoint.

The 100k-passage synthetic knowledge base of bench/vector_search.py (built
once, cached in bench/cache/) is served by `kb serve` in a child process;
16 clients (asyncio + httpx, one keep-alive connection each) then request
one endpoint as fast as they can for 30 s, endpoint after endpoint:

- table: /kb/passages.json, the table page as JSON (with the facets
  metadata.yml gives passages: stance, document_id);
- faceted: /kb/documents.json, the documents page with its five facets;
- keyword: /kb/search.json?q=...;
- hybrid: /kb/hybrid_search.json?q=... .

Every search is a question the server has not seen (no query-vector cache
hits). Reported per endpoint: requests/s, errors (answers other than 200,
and exceptions such as timeouts) and latency under load. Targets: no errors;
faceted pages (table and faceted) at least 100 requests/s.

The load generator shares the machine's cores with the server, so figures
are a lower bound for the server alone.

    python bench/serving.py                 # 16 clients, 30 s per endpoint
    python bench/serving.py --seconds 5     # quick
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import KbServer, percentile_ms, write_results  # noqa: E402
from bench.search_api import database  # noqa: E402
from bench.vector_search import CACHE, QUESTIONS  # noqa: E402

ENDPOINTS = {
    "table": "/kb/passages.json",
    "faceted": "/kb/documents.json",
    "keyword": "/kb/search.json?_shape=array&q={q}",
    "hybrid": "/kb/hybrid_search.json?_shape=array&q={q}",
}
WARM_UP_REQUESTS = 5


class Load:
    """What the clients saw for one endpoint: latencies of answered requests, and the errors."""

    def __init__(self):
        self.seconds: list[float] = []
        self.non_200: Counter[int] = Counter()
        self.exceptions: Counter[str] = Counter()

    def summary(self, duration: float) -> dict:
        return {
            "requests": len(self.seconds),
            "requests_per_s": round(len(self.seconds) / duration, 1),
            "non_200": sum(self.non_200.values()),
            "exceptions": sum(self.exceptions.values()),
            "errors": {**{f"HTTP {k}": v for k, v in self.non_200.items()}, **self.exceptions},
            "p50_ms": percentile_ms(self.seconds, 50) if self.seconds else None,
            "p95_ms": percentile_ms(self.seconds, 95) if self.seconds else None,
        }


def urls(endpoint: str):
    """Endless URLs for an endpoint; searches get a question never asked before (a counter appended)."""
    for n in itertools.count():
        yield endpoint.format(q=f"{QUESTIONS[n % len(QUESTIONS)]} ({n})")


async def client(http: httpx.AsyncClient, next_url, deadline: float, load: Load) -> None:
    """One user: a request, then the next as soon as the answer is in, until the deadline."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await http.get(next(next_url))
        except httpx.HTTPError as e:
            load.exceptions[type(e).__name__] += 1
            continue
        if response.status_code == 200:
            load.seconds.append(time.perf_counter() - started)
        else:
            load.non_200[response.status_code] += 1


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far), for every process, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        found[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return found


def descendants(pid: int, processes: dict | None = None) -> list[int]:
    """The processes started by ``pid`` and by them in turn (`kb serve`'s workers)."""
    processes = processes if processes is not None else _processes()

    def within(p: int) -> bool:
        while p > 1:
            p = processes.get(p, (0, 0))[0]
            if p == pid:
                return True
        return False

    return [p for p in processes if within(p)]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants, from /proc."""
    processes = _processes()
    return sum(processes[p][1] for p in [pid, *descendants(pid, processes)] if p in processes)


async def hammer(server: KbServer, endpoint: str, clients: int, seconds: float) -> dict:
    """Figures for one endpoint, with the CPU time the server and this load generator spent:
    on a small machine both share the cores, and the split shows who was the bottleneck."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as http:
        next_url = urls(endpoint)
        for _ in range(WARM_UP_REQUESTS):
            (await http.get(next(next_url))).raise_for_status()
        load = Load()
        started, server_cpu, own_cpu = time.monotonic(), cpu_seconds(server.process.pid), time.process_time()
        await asyncio.gather(*(client(http, next_url, started + seconds, load) for _ in range(clients)))
        return {
            **load.summary(time.monotonic() - started),
            "server_cpu_s": round(cpu_seconds(server.process.pid) - server_cpu, 1),
            "load_generator_cpu_s": round(time.process_time() - own_cpu, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="passages in the synthetic knowledge base")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="per endpoint")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--cache", default=str(CACHE), help="where the synthetic databases are kept")
    args = parser.parse_args()
    results = {}
    with KbServer(database(args.size, Path(args.cache))) as server:
        for name, endpoint in ENDPOINTS.items():
            results[name] = {
                "endpoint": endpoint.split("?")[0],
                **asyncio.run(hammer(server, endpoint, args.clients, args.seconds)),
            }
            print(name, results[name], flush=True)
    write_results(
        args.output,
        "serving",
        {
            "passages": args.size,
            "clients": args.clients,
            "seconds_per_endpoint": args.seconds,
            "targets": "no errors; table and faceted at least 100 requests/s",
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
