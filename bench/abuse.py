"""Cheap pages under abuse: `kb serve --public` while clients send the most expensive requests it allows.

The 100k-passage synthetic knowledge base of bench/vector_search.py (cached in
bench/cache/) is served by the real `kb serve --public` (2 worker processes).
One visitor fetches the cheap pages in turn, one after the other: the home
page, a search of the research UI and the documents table page. That is done
twice for the same time: with no other load (the baseline), then while
``--clients`` abusive clients (a separate process, one keep-alive connection
each) send, as fast as they are answered, the costliest requests the public
mode accepts: table pages filtered, sorted and faceted on passage text,
every row at once, the UI's and the JSON API's hybrid search with 2,000-character
questions, ad-hoc SQL (refused) and recursive queries.

Reported per cheap page: p50 and p95 latency and answers other than 200 in
both phases, and the ratio of the p95s; the abusive requests by status (503 is
the public mode turning them away); the server's resident memory (all its
processes) at most in each phase. Target: p95 under 1 s for each cheap page
under abuse, memory bounded.

    python bench/abuse.py                   # 16 clients, 30 s per phase
    python bench/abuse.py --seconds 5 --size 1000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import KbServer, percentile_ms, write_results  # noqa: E402
from bench.search_api import database  # noqa: E402
from bench.serving import descendants  # noqa: E402
from bench.vector_search import CACHE, QUESTIONS  # noqa: E402

CHEAP = {"home": "/", "search": "/search?q={q}", "table": "/kb/documents"}
LONG_QUESTION = " ".join(itertools.islice(itertools.cycle(" ".join(QUESTIONS).split()), 400))[:2000]
ABUSIVE = [
    "/kb/passages.json?text__contains={w}&_sort=text&_facet=document_id&_size=max",
    "/kb/passages.json?_facet=text&_facet=document_id&_size=max",
    "/kb/documents.json?_facet=text&_facet=title&_facet=url&_sort=text",
    "/kb/passages.csv?_stream=on&_size=max",
    "/search?mode=hybrid&q=" + quote(LONG_QUESTION),
    "/kb/hybrid_search.json?q=" + quote(LONG_QUESTION),
    "/kb.json?sql=" + quote("with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"),
]


def abusive_urls():
    for n in itertools.count():
        word = QUESTIONS[n % len(QUESTIONS)].split()[n % 3]
        yield ABUSIVE[n % len(ABUSIVE)].format(w=quote(word))


async def _abuse(url: str, clients: int, seconds: float) -> Counter:
    statuses: Counter = Counter()
    next_url = abusive_urls()
    deadline = time.monotonic() + seconds

    async def one_client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            try:
                response = await http.get(next(next_url))
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as e:
                statuses[type(e).__name__] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        await asyncio.gather(*(one_client(http) for _ in range(clients)))
    return statuses


def abuse(url: str, clients: int, seconds: float, results) -> None:
    """The abusive clients, in their own process so their work does not delay the visitor's timing."""
    results.put(dict(asyncio.run(_abuse(url, clients, seconds))))


def resident_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (`kb serve`'s workers), in MB, from /proc."""
    total_kb = 0
    for p in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return round(total_kb / 1024, 1)


def visit(server: KbServer, seconds: float) -> tuple[dict, float]:
    """The cheap pages in turn for ``seconds``: their latencies and non-200 answers; the most memory seen."""
    timings: dict[str, list[float]] = {name: [] for name in CHEAP}
    failures: Counter = Counter()
    most_memory = resident_mb(server.process.pid)
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for n in itertools.count():
            if time.monotonic() >= deadline:
                break
            name = list(CHEAP)[n % len(CHEAP)]
            started = time.perf_counter()
            try:
                response = http.get(CHEAP[name].format(q=quote(QUESTIONS[n % len(QUESTIONS)])))
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            timings[name].append(time.perf_counter() - started)
            if not ok:
                failures[name] += 1
            if n % 10 == 0:
                most_memory = max(most_memory, resident_mb(server.process.pid))
    pages = {
        name: {
            "requests": len(times),
            "not_200": failures[name],
            "p50_ms": percentile_ms(times, 50),
            "p95_ms": percentile_ms(times, 95),
        }
        for name, times in timings.items()
    }
    return pages, most_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="passages in the synthetic knowledge base")
    parser.add_argument("--clients", type=int, default=16, help="abusive clients")
    parser.add_argument("--seconds", type=float, default=30, help="per phase")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--cache", default=str(CACHE), help="where the synthetic databases are kept")
    args = parser.parse_args()
    with KbServer(
        database(args.size, Path(args.cache)), ready_path="/search?q=warm+up", options=("--public",)
    ) as server:
        quiet, quiet_memory = visit(server, args.seconds)
        print("no load:", quiet, f"{quiet_memory} MB", flush=True)
        results = multiprocessing.Queue()
        abusers = multiprocessing.Process(target=abuse, args=(server.url, args.clients, args.seconds + 2, results))
        abusers.start()
        time.sleep(2)  # let the abuse reach full strength before the visitor starts timing
        loaded, loaded_memory = visit(server, args.seconds)
        abusive = results.get(timeout=args.seconds + 120)
        abusers.join()
        print("under abuse:", loaded, f"{loaded_memory} MB", abusive, flush=True)
    write_results(
        args.output,
        "abuse",
        {
            "passages": args.size,
            "abusive_clients": args.clients,
            "seconds_per_phase": args.seconds,
            "target": "p95 under 1 s for each cheap page under abuse; memory bounded",
            "no_load": quiet,
            "under_abuse": loaded,
            "p95_ratio": {name: round(loaded[name]["p95_ms"] / max(quiet[name]["p95_ms"], 0.01), 2) for name in CHEAP},
            "abusive_requests": abusive,
            "resident_mb": {"no_load": quiet_memory, "under_abuse": loaded_memory},
        },
    )


if __name__ == "__main__":
    main()
