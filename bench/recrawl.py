"""A first crawl against an immediate re-crawl of the same, unchanged site.

A local site of generated article pages (a few hundred by default, with
hub pages listing them) is crawled by the real `kb crawl` (one process per
run, as cron runs it; embedding and analysis included), into a fresh
database; then crawled again, unchanged, several times. Two kinds of site:

- validators: pages send ETag and Last-Modified, so a re-crawl gets 304s;
- bytes: pages send no validators, so a re-crawl downloads every page and
  recognises it by the hash of its bytes, without extracting it again.

Reported per kind: first-crawl seconds, re-crawl seconds (median), their
ratio (target: under 0.15) and the passages each re-crawl encoded (target: 0).

    python bench/recrawl.py                # 300 pages, 3 re-crawls
    python bench/recrawl.py --pages 30 --repeat 1   # quick
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402
from kb.demo import BackgroundServer  # noqa: E402

PAGES_PER_HUB = 50
SUBJECTS = [
    "Linear algebra",
    "Calculus",
    "Probability",
    "Statistics",
    "Optimisation",
    "Information theory",
    "Matrix calculus",
    "Bayesian inference",
    "Numerical methods",
    "Convex analysis",
]
CLAIMS = [
    "matters most when you debug a model that will not converge",
    "is less important than practice for most working engineers",
    "helps you read research papers without getting lost",
    "can be learned on the job, one concept at a time",
    "explains why regularisation and normalisation work",
    "is what interviewers test when they ask about gradients",
    "gives you intuition for the loss surface you are descending",
    "is optional for applying libraries but essential for inventing methods",
]


def article_html(number: int) -> bytes:
    rng = random.Random(number)
    paragraphs = []
    for _ in range(rng.randint(3, 6)):
        sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(CLAIMS)}." for _ in range(rng.randint(3, 6))]
        paragraphs.append(f"<p>Article {number}: " + " ".join(sentences) + "</p>")
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Essay {number} on math in ML</title>"
        f"</head><body><article><h1>Essay {number} on math in ML</h1>{''.join(paragraphs)}</article></body></html>"
    ).encode()


class GeneratedSite(BackgroundServer):
    """/ lists the hub pages, each hub lists PAGES_PER_HUB articles; ``validators`` adds ETag/Last-Modified."""

    def __init__(self, pages: int, validators: bool):
        self.pages, self.validators = pages, validators
        self.requests: list[str] = []  # paths, in the order they were asked for
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                status, body, headers = site.answer(self.path)
                etag = headers.get("ETag")
                if site.validators and etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    def answer(self, path: str) -> tuple[int, bytes, dict]:
        hubs = (self.pages + PAGES_PER_HUB - 1) // PAGES_PER_HUB
        if path == "/":
            body = "".join(f'<a href="/hub/{h}.html">hub {h}</a> ' for h in range(hubs))
            return 200, f"<html><body><nav>{body}</nav></body></html>".encode(), {}
        if path.startswith("/hub/"):
            h = int(path.removeprefix("/hub/").removesuffix(".html"))
            links = "".join(
                f'<a href="/articles/{n}.html">essay {n}</a> '
                for n in range(h * PAGES_PER_HUB, min(self.pages, (h + 1) * PAGES_PER_HUB))
            )
            return 200, f"<html><body><nav>{links}</nav></body></html>".encode(), {}
        if path.startswith("/articles/"):
            number = int(path.removeprefix("/articles/").removesuffix(".html"))
            if number < self.pages:
                headers = {"ETag": f'"essay-{number}"', "Last-Modified": "Tue, 03 Mar 2026 10:00:00 GMT"}
                return 200, article_html(number), headers if self.validators else {}
        return 404, b"not found", {}


def run_crawl(sources: Path, db: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kb", "crawl", "--sources", str(sources), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"kb crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
    summary = "\n".join(
        line for line in result.stderr.splitlines() if line.startswith(("crawl run", "embedded", "analy"))
    )
    return seconds, summary


def embedded(summary: str) -> int:
    """Passages encoded, from kb crawl's "embedded N passages with MODEL ..." line."""
    return int(re.search(r"^embedded (\d+) passages with ", summary, re.M).group(1))


def run_line(summary: str) -> str:
    return next(line for line in summary.splitlines() if line.startswith("crawl run"))


def measure(pages: int, validators: bool, repeat: int, workdir: Path) -> dict:
    kind = "validators" if validators else "bytes"
    with GeneratedSite(pages, validators) as site:
        sources = workdir / f"sources-{kind}.yml"
        sources.write_text(
            'user_agent: "math-ml-kb benchmark (+https://example.org/bench)"\n'
            f"download_delay: 0\nsources:\n  - name: generated\n    start_urls: ['{site.base_url}/']\n"
            "    allow: ['/articles/']\n    max_pages: 100000\n"
        )
        db = workdir / f"{kind}.db"
        first, first_summary = run_crawl(sources, db)
        recrawls = [run_crawl(sources, db) for _ in range(repeat)]
    times = [seconds for seconds, _ in recrawls]
    result = {
        "site": kind,
        "pages": pages,
        "first_crawl_s": round(first, 2),
        "first_crawl_passages_encoded": embedded(first_summary),
        "recrawl_s_median": round(statistics.median(times), 2),
        "recrawl_s_all": [round(t, 2) for t in times],
        "ratio": round(statistics.median(times) / first, 3),
        "recrawl_passages_encoded": max(embedded(summary) for _, summary in recrawls),
        "first_crawl_summary": run_line(first_summary),
        "recrawl_summary": run_line(recrawls[-1][1]),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="re-crawls per site (the median is reported)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(args.pages, validators, args.repeat, Path(tmp)) for validators in (True, False)]
    write_results(args.output, "recrawl", {"results": results})


if __name__ == "__main__":
    main()
