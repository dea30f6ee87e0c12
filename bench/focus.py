"""A focused crawl against an unfocused one, on a site that is mostly about something else.

A local site: a home page linking to two trees of articles, one on math in
machine learning (the pages bench/recrawl.py generates) and a larger one on
other subjects (a newsletter's issues on chips, cooking, travel...). Both
trees are crawled by the real `kb crawl --no-embed` (one process per run;
politeness off), once without focus and once with `min_relevance`, into
fresh databases. Reported: pages requested, relevant and off-topic pages
stored, wall seconds, and what the requests alone would take at the default
sources.yml politeness (2 s between requests to a host), where a real crawl
spends its time.

    python bench/focus.py                       # 100 pages on the question, 300 off it
    python bench/focus.py --relevant 10 --off-topic 30 --repeat 1   # quick
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402
from bench.recrawl import GeneratedSite, article_html  # noqa: E402

FANOUT = 3
POLITE_DELAY_S = 2.0  # sources.yml's download_delay
OFF_TOPIC_SUBJECTS = [
    "The new export rules for advanced chips",
    "A weekend in Lisbon",
    "Sourdough in winter",
    "The city's tram extension",
    "Last night's derby",
    "Tomatoes on a balcony",
    "The museum's new print collection",
    "Moving our containers to another cloud",
]
OFF_TOPIC_CLAIMS = [
    "surprised everyone who followed it closely",
    "will take another year to finish",
    "costs less than most people expect",
    "was delayed by the weather again",
    "drew a bigger crowd than last season",
    "needs patience more than equipment",
    "divided the readers who wrote in",
    "is worth a second look this spring",
]


def off_topic_html(number: int) -> bytes:
    rng = random.Random(10_000 + number)
    paragraphs = []
    for _ in range(rng.randint(3, 6)):
        sentences = [
            f"{rng.choice(OFF_TOPIC_SUBJECTS)} {rng.choice(OFF_TOPIC_CLAIMS)}." for _ in range(rng.randint(3, 6))
        ]
        paragraphs.append("<p>" + " ".join(sentences) + "</p>")
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Issue {number}</title></head>"
        f"<body><article><h1>Issue {number}</h1>{''.join(paragraphs)}</article></body></html>"
    ).encode()


class BranchingSite(GeneratedSite):
    """/ links to /ml/0.html and /other/0.html; page n of a tree links to pages FANOUT*n+1 .. FANOUT*n+FANOUT."""

    def __init__(self, relevant: int, off_topic: int):
        self.sizes = {"ml": relevant, "other": off_topic}
        super().__init__(pages=0, validators=False)

    def answer(self, path: str) -> tuple[int, bytes, dict]:
        if path == "/":
            return 200, b"<html><body><a href='/ml/0.html'>math</a> <a href='/other/0.html'>other</a></body></html>", {}
        branch, _, name = path.strip("/").partition("/")
        if branch in self.sizes and name.endswith(".html") and name[:-5].isdigit():
            number = int(name[:-5])
            if number < self.sizes[branch]:
                page = article_html(number) if branch == "ml" else off_topic_html(number)
                children = [
                    c for c in range(FANOUT * number + 1, FANOUT * number + FANOUT + 1) if c < self.sizes[branch]
                ]
                links = "".join(f"<a href='/{branch}/{c}.html'>next {c}</a> " for c in children)
                return 200, page.replace(b"</body>", f"<nav>{links}</nav></body>".encode()), {}
        return 404, b"not found", {}


def crawl_once(site: BranchingSite, workdir: Path, name: str, options: str) -> dict:
    sources = workdir / f"sources-{name}.yml"
    sources.write_text(
        'user_agent: "math-ml-kb benchmark (+https://example.org/bench)"\n'
        f"download_delay: 0\nsources:\n  - name: generated\n    start_urls: ['{site.base_url}/']\n"
        f"    allow: ['/(ml|other)/']\n    max_depth: 12\n    max_pages: 100000\n"
        f"    robots_sitemaps: false\n{options}"
    )
    db = workdir / f"{name}.db"
    for path in workdir.glob(f"{name}.db*"):
        path.unlink() if path.is_file() else None
    site.requests.clear()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kb", "crawl", "--sources", str(sources), "--db", str(db), "--no-embed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"kb crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
    import sqlite_utils

    urls = [row["url"] for row in sqlite_utils.Database(db).query("select url from documents")]
    requested = [p for p in site.requests if p.startswith(("/ml/", "/other/"))]
    return {
        "seconds": seconds,
        "requested": len(requested),
        "relevant_stored": sum("/ml/" in u for u in urls),
        "off_topic_stored": sum("/other/" in u for u in urls),
        "summary": next(line for line in result.stderr.splitlines() if line.startswith("crawl run")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--relevant", type=int, default=100, help="pages on math in ML")
    parser.add_argument("--off-topic", type=int, default=300, help="pages on other subjects")
    parser.add_argument("--min-relevance", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternated (medians reported)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"unfocused": [], "focused": []}
    options = {"unfocused": "", "focused": f"    min_relevance: {args.min_relevance}\n"}
    with tempfile.TemporaryDirectory() as tmp, BranchingSite(args.relevant, args.off_topic) as site:
        for _ in range(args.repeat):
            for name in runs:
                runs[name].append(crawl_once(site, Path(tmp), name, options[name]))
    result = {
        "relevant_pages": args.relevant,
        "off_topic_pages": args.off_topic,
        "min_relevance": args.min_relevance,
        "repeat": args.repeat,
    }
    for name, rows in runs.items():
        result[name] = {
            "requested": rows[-1]["requested"],
            "relevant_stored": rows[-1]["relevant_stored"],
            "off_topic_stored": rows[-1]["off_topic_stored"],
            "seconds_median": round(statistics.median(r["seconds"] for r in rows), 2),
            "seconds_all": [round(r["seconds"], 2) for r in rows],
            "requests_at_polite_delay_s": round(rows[-1]["requested"] * POLITE_DELAY_S),
            "summary": rows[-1]["summary"],
        }
    result["requested_ratio"] = round(result["focused"]["requested"] / result["unfocused"]["requested"], 3)
    result["seconds_ratio"] = round(result["focused"]["seconds_median"] / result["unfocused"]["seconds_median"], 3)
    print(json.dumps(result, indent=2), flush=True)
    write_results(args.output, "focus", result)


if __name__ == "__main__":
    main()
