"""The single writer of a distributed crawl: `kb ingest`'s items per second against a local crawl's store.

A knowledge base of ``--base`` generated articles (bench/recrawl.py's text,
real size) is built first. Then ``--items`` new articles are stored twice,
each time into a copy of that base: by the local crawl's path (ItemStore, as
the pipeline of `kb crawl` calls it, in this process) and by the writer of
a distributed crawl (crawler.distributed.ingest, draining the items from a
real redis-server where they were pushed as workers push them). Embedding
and analysis are left out of both: they run after either, the same way.

Reported: items/s of each (median of --repeat rounds, each into fresh
copies of the base), the writer's as a ratio of the local store, and
whether the writer reaches the target of 300 items/s (issue 25).

    python bench/writer.py                              # 20,000 base, 2,000 items
    python bench/writer.py --base 100000 --items 5000   # the issue's size
    python bench/writer.py --base 200 --items 100       # quick
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, redis_server, write_results  # noqa: E402
from bench.recrawl import CLAIMS, SUBJECTS  # noqa: E402

TARGET = 300  # items per second


def article(number: int):
    from crawler.items import Article

    rng = random.Random(number)
    paragraphs = [
        f"Article {number}: "
        + " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(CLAIMS)}." for _ in range(rng.randint(3, 6)))
        for _ in range(rng.randint(3, 6))
    ]
    url = f"https://example.org/articles/{number}.html"
    return Article(
        source="bench",
        url=url,
        fetched_url=url,
        title=f"Essay {number} on math in ML",
        author=None,
        published="2024-01-01",
        site_name="Example",
        language="en",
        description=None,
        text="\n".join(paragraphs),
        links=[],
        body_hash=f"{number:064x}",
    )


def store_locally(db: Path, first: int, count: int) -> float:
    """Seconds ItemStore takes to store articles first..first+count, as a local crawl's pipeline does."""
    from crawler.store import ItemStore

    store = ItemStore(str(db), sources_file="bench")
    store.open()
    started = time.perf_counter()
    for number in range(first, first + count):
        store.store(article(number))
    seconds = time.perf_counter() - started
    store.close("completed", fetched=count)
    return seconds


def ingest_from_redis(db: Path, first: int, count: int, workdir: Path) -> float:
    """Seconds `kb ingest`'s loop takes to drain the same articles from a real redis-server."""
    from crawler.distributed import ITEMS_KEY, encode_item, ingest

    with redis_server(workdir) as (client, _):
        pipe = client.pipeline()
        for number in range(first, first + count):
            pipe.rpush(ITEMS_KEY, encode_item(article(number)))
        pipe.execute()
        idle = 0.5
        started = time.perf_counter()
        ingest(client, str(db), idle_seconds=idle)
        return time.perf_counter() - started - idle  # the wait that tells it the list stays empty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=20_000, help="articles already in the knowledge base")
    parser.add_argument("--items", type=int, default=2_000, help="new articles stored by each path")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each path (the median is reported)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("no redis-server (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = work / "base.db"
        base_seconds = store_locally(base, 0, args.base)
        locals_, writers = [], []
        for _ in range(args.repeat):  # each round into fresh copies of the base, the two paths alternated
            local_db, writer_db = work / "local.db", work / "writer.db"
            shutil.copy(base, local_db)
            shutil.copy(base, writer_db)
            locals_.append(store_locally(local_db, args.base, args.items))
            writers.append(ingest_from_redis(writer_db, args.base, args.items, work))
            for db in (local_db, writer_db):
                stored = sqlite3.connect(db).execute("select count(*) from documents").fetchone()[0]
                if stored != args.base + args.items:
                    sys.exit(f"{db.name}: {stored} documents stored, not {args.base + args.items}")
            for path in work.glob("*.db*"):
                if path.name.startswith(("local.db", "writer.db")):
                    path.unlink()
        local, writer = statistics.median(locals_), statistics.median(writers)
    result = {
        "machine": machine(),
        "base_documents": args.base,
        "items": args.items,
        "base_build_items_per_s": round(args.base / base_seconds, 1),
        "local_store_items_per_s": round(args.items / local, 1),
        "writer_items_per_s": round(args.items / writer, 1),
        "writer_to_local": round(local / writer, 3),
        "local_seconds_all": [round(t, 2) for t in locals_],
        "writer_seconds_all": [round(t, 2) for t in writers],
        "target_items_per_s": TARGET,
        "target_met": args.items / writer >= TARGET,
    }
    print(json.dumps(result), flush=True)
    write_results(args.output, "writer", result)


if __name__ == "__main__":
    main()
