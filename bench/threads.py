"""A grown discussion thread re-crawled, against crawling the grown thread from nothing.

A local Hacker News item (Algolia's item JSON) of generated comments is
crawled by the real `kb crawl` (embedding and analysis included) into a
fresh database; then it gains comments and is crawled again. The baseline,
in the same run, is a crawl of the grown thread into an empty database:
what a re-crawl would cost if it did everything again.

Reported: both times and their ratio, the passages the re-crawl encoded and
the statement rows it wrote (only the new comments' should be new).

    python bench/threads.py                      # 2,000 comments, 50 new
    python bench/threads.py --comments 200 --new 10   # quick
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import remove_database, write_results  # noqa: E402
from bench.recrawl import CLAIMS, SUBJECTS, embedded, run_crawl, run_line  # noqa: E402
from kb import storage  # noqa: E402
from kb.demo import BackgroundServer  # noqa: E402

THREAD_ID = 4242


def comment(number: int) -> dict:
    """A generated comment of two to five sentences, some quoting someone, as Algolia's API gives it."""
    rng = random.Random(number)
    sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(CLAIMS)}." for _ in range(rng.randint(2, 5))]
    if number % 7 == 0:
        sentences.append(f'As my teacher put it, "{rng.choice(SUBJECTS).lower()} {rng.choice(CLAIMS)}."')
    return {
        "id": 100_000 + number,
        "author": f"user{number % 400}",
        "text": f"<p>Comment {number}: {' '.join(sentences)}</p>",
        "created_at_i": 1_700_000_000 + 60 * number,
        "points": None,
        "children": [],
    }


def thread(comments: int) -> bytes:
    """The thread's first ``comments`` comments: every third one a reply to the comment before it."""
    top: list[dict] = []
    for number in range(comments):
        item = comment(number)
        if number % 3 == 2:
            top[-1]["children"].append(item)
        else:
            top.append(item)
    return json.dumps(
        {"id": THREAD_ID, "title": "Generated thread: how much math?", "created_at_i": 1_700_000_000, "children": top}
    ).encode()


class ThreadSite(BackgroundServer):
    """Serves the thread at /api/v1/items/THREAD_ID with however many comments ``comments`` says."""

    def __init__(self, comments: int):
        self.comments = comments
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                found = self.path == f"/api/v1/items/{THREAD_ID}"
                body = thread(site.comments) if found else b"not found"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json" if found else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(Handler)


def statement_rows(db: Path) -> set[int]:
    connection = storage.open_db(db)
    try:
        return {row[0] for row in connection.execute("select id from quotes").fetchall()}
    finally:
        connection.close()


def measure(comments: int, new: int, workdir: Path) -> dict:
    with ThreadSite(comments) as site:
        sources = workdir / "sources.yml"
        sources.write_text(
            'user_agent: "math-ml-kb benchmark (+https://example.org/bench)"\ndownload_delay: 0\nsources:\n'
            f"  - name: thread\n    type: hn\n    robots_sitemaps: false\n    max_comments: 100000\n"
            f"    start_urls: ['{site.base_url}/api/v1/items/{THREAD_ID}']\n"
        )
        db, fresh = workdir / "kb.db", workdir / "fresh.db"
        first, first_summary = run_crawl(sources, db)
        before = statement_rows(db)
        site.comments = comments + new
        grown, grown_summary = run_crawl(sources, db)
        after = statement_rows(db)
        remove_database(fresh)
        baseline, baseline_summary = run_crawl(sources, fresh)
    result = {
        "comments": comments,
        "new_comments": new,
        "first_crawl_s": round(first, 2),
        "grown_recrawl_s": round(grown, 2),
        "baseline_fresh_crawl_of_grown_s": round(baseline, 2),
        "ratio": round(grown / baseline, 3),
        "recrawl_passages_encoded": embedded(grown_summary),
        "baseline_passages_encoded": embedded(baseline_summary),
        "statement_rows_kept": len(before & after),
        "statement_rows_new": len(after - before),
        "statement_rows_dropped": len(before - after),
        "recrawl_summary": run_line(grown_summary),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--new", type=int, default=50, help="comments the thread gains before the re-crawl")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.comments, args.new, Path(tmp))
    write_results(args.output, "threads", result)


if __name__ == "__main__":
    main()
