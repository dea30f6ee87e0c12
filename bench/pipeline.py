"""How fast a crawl turns pages into stored, searchable rows, against a bare fetch.

A local site of generated article pages (bench/recrawl.py's, politeness
delays off) is, in each round:

- fetched by a bare Scrapy spider that only downloads the same pages (the
  project's concurrency settings and 1 ms delay floor, nothing else): the
  ceiling a crawl of this site could reach;
- crawled by the real `kb crawl --no-embed` into a fresh database (fetch,
  trafilatura extraction, passages, FTS, then `kb analyze`): the crawl phase
  is timed by its crawl_runs row, the whole command by the wall clock;
- extracted from saved files by `kb extract --jsonl` (wall clock, start-up
  included; peak RSS);
- taken apart: CPU milliseconds per page of extraction, passage splitting and
  storing, run in this process the way the crawl's process runs them (that
  process is CPU-bound: these plus Scrapy's own work are its time).

Rates are article pages per second (both crawls fetch the same pages: the
articles, their hub pages, the home page and robots.txt); medians over the
rounds. Target: the crawl phase keeps at least half of the bare fetch rate.

    python bench/pipeline.py                        # 300 pages, 3 rounds
    python bench/pipeline.py --pages 10 --repeat 1  # quick
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import remove_database, write_results  # noqa: E402
from bench.recrawl import PAGES_PER_HUB, GeneratedSite, article_html  # noqa: E402

# What the bare spider takes from the real crawl's settings, so both fetch alike.
FETCH_SETTINGS = (
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "ROBOTSTXT_OBEY",
    "COOKIES_ENABLED",
    "DOWNLOAD_TIMEOUT",
    "USER_AGENT",
    "TELNETCONSOLE_ENABLED",
)


def site_urls(base_url: str, pages: int) -> list[str]:
    """The pages the real crawl fetches (robots.txt aside): the home page, the hubs and the articles."""
    hubs = (pages + PAGES_PER_HUB - 1) // PAGES_PER_HUB
    return (
        [f"{base_url}/"]
        + [f"{base_url}/hub/{h}.html" for h in range(hubs)]
        + [f"{base_url}/articles/{n}.html" for n in range(pages)]
    )


def fetch_only(sources: Path, urls: list[str]) -> dict:
    """Download ``urls`` with a spider that does nothing else; seconds by Scrapy's own clock.

    Runs in a child process: Twisted's reactor starts once per process.
    """
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler.run import crawl_settings
    from crawler.sources import load_sources

    class FetchOnly(scrapy.Spider):
        name = "fetch-only"

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, self.parse)

        def parse(self, response):
            self.crawler.stats.inc_value("bench/pages")

    real = crawl_settings(load_sources(sources), os.devnull, log_level="WARNING")
    process = CrawlerProcess(Settings({name: real[name] for name in FETCH_SETTINGS} | {"LOG_LEVEL": "WARNING"}))
    crawler = process.create_crawler(FetchOnly)
    process.crawl(crawler)
    process.start()
    return {
        "fetched": crawler.stats.get_value("bench/pages", 0),
        "seconds": crawler.stats.get_value("elapsed_time_seconds"),
    }


def measure_fetch(sources: Path, urls_file: Path, pages: int) -> dict:
    result = run_checked([sys.executable, __file__, "--fetch-only", str(sources), str(urls_file)])
    fetched = json.loads(result.stdout.splitlines()[-1])
    expected = len(urls_file.read_text().split())
    if fetched["fetched"] != expected:
        sys.exit(f"the bare fetch got {fetched['fetched']} of {expected} pages")
    return {"crawl_s": fetched["seconds"], "pages_per_s": pages / fetched["seconds"]}


def measure_crawl(sources: Path, db: Path, pages: int) -> dict:
    """`kb crawl --no-embed` into a fresh database; checks every article was stored and is searchable."""
    remove_database(db)
    started = time.perf_counter()
    run_checked([sys.executable, "-m", "kb", "crawl", "--no-embed", "--sources", str(sources), "--db", str(db)])
    wall = time.perf_counter() - started
    with sqlite3.connect(db) as conn:
        duration, new, status = conn.execute(
            "select duration_s, new, status from crawl_runs order by id desc limit 1"
        ).fetchone()
        passages = conn.execute("select count(*) from passages").fetchone()[0]
        # Every generated paragraph starts "Article N:", so every passage matches.
        searchable = conn.execute("select count(*) from passages_fts where passages_fts match 'article'").fetchone()[0]
    if status != "completed" or new != pages or searchable != passages:
        sys.exit(f"kb crawl stored {new} of {pages} pages ({status}); {searchable} of {passages} passages searchable")
    return {
        "crawl_s": duration,
        "command_s": wall,
        "crawl_pages_per_s": pages / duration,
        "command_pages_per_s": pages / wall,
        "passages": passages,
    }


def measure_extract(files: list[Path], workdir: Path) -> dict:
    """`kb extract --jsonl` over saved pages; the peak RSS of that one process (wait4),
    not of every child so far as RUSAGE_CHILDREN would give."""
    output, errors = workdir / "extract.jsonl", workdir / "extract.err"
    started = time.perf_counter()
    with output.open("wb") as out, errors.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", "extract", "--jsonl", *map(str, files)], cwd=ROOT, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    records = [json.loads(line) for line in output.read_text().splitlines()]
    if process.returncode != 0 or len(records) != len(files) or any("error" in r for r in records):
        sys.exit(f"kb extract failed ({process.returncode}):\n{errors.read_text()[-3000:]}")
    return {"command_s": wall, "pages_per_s": len(files) / wall, "peak_mb": usage.ru_maxrss / 1024}


def measure_stages(base_url: str, pages: int, db: Path) -> dict:
    """CPU ms per page of each step the crawl's process adds to fetching, called as the
    spider (extraction) and the pipeline (passages, storing) call them."""
    from crawler.extract import decode_html, extract_article
    from crawler.settings import KB_PASSAGE_MAX_TOKENS
    from embeddings.chunking import split_passages
    from embeddings.model import load_token_counter
    from kb import storage

    count_tokens = load_token_counter(None)
    db.unlink(missing_ok=True)
    conn = storage.open_db(db)
    bodies = {f"{base_url}/articles/{n}.html": article_html(n) for n in range(pages)}
    started = time.process_time()
    documents = [
        {**extract_article(decode_html(body, "utf-8"), url), "source": "generated", "fetched_url": url}
        for url, body in bodies.items()
    ]
    extracted = time.process_time()
    spans = [split_passages(d["text"], KB_PASSAGE_MAX_TOKENS, count_tokens) for d in documents]
    split = time.process_time()
    for document, document_spans in zip(documents, spans):
        storage.save_document(conn, document, document_spans)
    stored = time.process_time()
    conn.close()
    return {
        "extract": (extracted - started) * 1000 / pages,
        "passages": (split - extracted) * 1000 / pages,
        "store": (stored - split) * 1000 / pages,
    }


def run_checked(command: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[1:4])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def median(runs: list[dict], key: str, digits: int = 1) -> float:
    return round(statistics.median(run[key] for run in runs), digits)


def measure(pages: int, repeat: int, workdir: Path) -> dict:
    """Rounds of fetch, crawl, extract and stages, interleaved so a busy spell of the machine hits all of them."""
    (workdir / "pages").mkdir()
    files = [workdir / "pages" / f"{n}.html" for n in range(pages)]
    for n, file in enumerate(files):
        file.write_bytes(article_html(n))
    fetches, crawls, extracts, stages = [], [], [], []
    with GeneratedSite(pages, validators=True) as site:
        sources = workdir / "sources.yml"
        sources.write_text(
            'user_agent: "math-ml-kb benchmark (+https://example.org/bench)"\n'
            f"download_delay: 0\nsources:\n  - name: generated\n    start_urls: ['{site.base_url}/']\n"
            "    allow: ['/articles/']\n    max_pages: 100000\n"
        )
        urls_file = workdir / "urls.txt"
        urls_file.write_text("\n".join(site_urls(site.base_url, pages)))
        for _ in range(repeat):
            fetches.append(measure_fetch(sources, urls_file, pages))
            crawls.append(measure_crawl(sources, workdir / "kb.db", pages))
            extracts.append(measure_extract(files, workdir))
            stages.append(measure_stages(site.base_url, pages, workdir / "stages.db"))
            print(
                json.dumps(
                    {"fetch": fetches[-1], "crawl": crawls[-1], "extract": extracts[-1], "stage_cpu_ms": stages[-1]}
                ),
                flush=True,
            )
    fetch_rate, crawl_rate = median(fetches, "pages_per_s"), median(crawls, "crawl_pages_per_s")
    return {
        "pages": pages,
        "repeat": repeat,
        "passages": crawls[-1]["passages"],
        "bare_fetch_pages_per_s": fetch_rate,
        "bare_fetch_s_all": [round(r["crawl_s"], 2) for r in fetches],
        "crawl_phase_pages_per_s": crawl_rate,
        "crawl_phase_s_all": [round(r["crawl_s"], 2) for r in crawls],
        "crawl_command_pages_per_s": median(crawls, "command_pages_per_s"),
        "crawl_command_s_all": [round(r["command_s"], 2) for r in crawls],
        "ratio_crawl_phase_to_bare_fetch": round(crawl_rate / fetch_rate, 3),
        "extract_command_pages_per_s": median(extracts, "pages_per_s"),
        "extract_command_s_all": [round(r["command_s"], 2) for r in extracts],
        "extract_peak_mb": median(extracts, "peak_mb"),
        "ms_per_page": {
            "bare_fetch": round(1000 / fetch_rate, 2),
            "crawl_phase": round(1000 / crawl_rate, 2),
            **{f"{stage}_cpu": median(stages, stage, 2) for stage in ("extract", "passages", "store")},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians are reported)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    # Internal: the bare fetch, which this script runs in a child process.
    parser.add_argument("--fetch-only", nargs=2, metavar=("SOURCES", "URLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch_only:
        sources, urls = map(Path, args.fetch_only)
        print(json.dumps(fetch_only(sources, urls.read_text().split())))
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.pages, args.repeat, Path(tmp))
    print(json.dumps(result))
    write_results(args.output, "pipeline", result)


if __name__ == "__main__":
    main()
