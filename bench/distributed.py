"""Distributed crawling: pages per second with one and with two scrapy-redis workers on this machine.

A local site of generated article pages (bench/recrawl.py's, politeness
delays off) and a real redis-server started here. Each round, for one and
then two workers: `kb crawl --redis URL --seed` (and, for two, a second
`kb crawl --redis URL` started as soon as the frontier has requests) run
until the frontier is empty; timed from the seed's start to the last
worker's exit (process start-up included, as a user would run them). Then
`kb ingest --no-embed` drains the items, and every page must be stored
once. Reported: median pages/s per worker count and the ratio two/one.

Both workers share this machine's cores with the site and with Redis, so
the ratio says what a second process on the same machine buys, not what a
second machine would.

    python bench/distributed.py                        # 300 pages, 3 rounds
    python bench/distributed.py --pages 20 --repeat 1  # quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import redis_server, write_results  # noqa: E402
from bench.recrawl import GeneratedSite  # noqa: E402


def kb(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kb", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def crawl_round(redis_url: str, client, sources: Path, workers: int, pages: int, workdir: Path) -> float:
    """Seconds for ``workers`` workers to crawl the site into Redis; checks the writer stores every page."""
    client.flushdb()
    started = time.perf_counter()
    procs = [kb("crawl", "--redis", redis_url, "--seed", "--sources", sources, "--quiet")]
    if workers > 1:
        while client.zcard("articles:requests") == 0 and procs[0].poll() is None:
            time.sleep(0.01)
        procs += [kb("crawl", "--redis", redis_url, "--sources", sources, "--quiet") for _ in range(workers - 1)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed: {err[-2000:]}")
    seconds = time.perf_counter() - started
    db = workdir / f"kb-{workers}.db"
    for leftover in workdir.glob(db.name + "*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    writer = kb("ingest", "--redis", redis_url, "--db", db, "--idle", "0", "--no-embed")
    _, err = writer.communicate(timeout=600)
    import sqlite3

    stored = sqlite3.connect(db).execute("select count(distinct url) from documents").fetchone()[0]
    if writer.returncode != 0 or stored != pages:
        raise SystemExit(f"the writer stored {stored} of {pages} pages: {err[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kb-bench-distributed-"))
    seconds: dict[int, list[float]] = {1: [], 2: []}
    try:
        with redis_server(workdir) as (client, redis_url), GeneratedSite(args.pages, validators=False) as site:
            sources = workdir / "sources.yml"
            sources.write_text(
                'user_agent: "kb-bench (+https://example.org/kb)"\ndownload_delay: 0\nsources:\n'
                f"  - name: generated\n    start_urls: ['{site.base_url}/']\n"
                "    allow: ['/articles/']\n    max_pages: 100000\n"
            )
            for _ in range(args.repeat):
                for workers in (1, 2):  # alternated, so load from elsewhere hits both alike
                    seconds[workers].append(crawl_round(redis_url, client, sources, workers, args.pages, workdir))
                    print(json.dumps({"workers": workers, "seconds": round(seconds[workers][-1], 2)}), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rates = {w: args.pages / statistics.median(s) for w, s in seconds.items()}
    result = {
        "pages": args.pages,
        "repeat": args.repeat,
        "one_worker_pages_per_s": round(rates[1], 1),
        "two_workers_pages_per_s": round(rates[2], 1),
        "ratio_two_to_one": round(rates[2] / rates[1], 3),
        "one_worker_s_all": [round(s, 2) for s in seconds[1]],
        "two_workers_s_all": [round(s, 2) for s in seconds[2]],
    }
    print(json.dumps(result), flush=True)
    write_results(args.output, "distributed", result)


if __name__ == "__main__":
    main()
