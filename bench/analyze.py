"""`kb analyze` on a thousand real-size news articles: pages analysed per second.

The articles are built from the PolNeAR dev split in ../shared/eval (real US
news text written by others; it is read from there, never copied into the
repository): article i is the first half of one PolNeAR article followed by
the second half of another, so the 1,000 articles are all different, keep
the length (about 800 words) and the quotation density of real news. They
are stored through kb.storage, split into passages as the crawler splits
them and embedded (stances and relevance read the vectors), once, into
bench/cache/; each timed run copies that database and runs the real
`kb analyze` in a child process, as users do.

Reported: seconds per analysis (median of ``--repeat``) and articles per
second. With ``--baseline COMMIT`` the same analysis also runs with the code
of that commit (a temporary git worktree, the same virtual environment),
alternating with the current code, and the ratio of the two medians is
reported: issue 16's budget was 3x the analysis before it (b4b8d4a).

    python bench/analyze.py                       # 1,000 articles, 2 runs
    python bench/analyze.py --baseline b4b8d4a    # and the analysis of that commit, alternated
    python bench/analyze.py --articles 100 --repeat 1   # quick
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

from bench.common import remove_database, worktree, write_results  # noqa: E402

POLNEAR_DEV = ROOT.parent / "shared" / "eval" / "polnear-dev"
REALTOPIC_DEV = ROOT.parent / "shared" / "eval" / "realtopic-dev.json"
CACHE = ROOT / "bench" / "cache"


def on_topic_passages(path: Path = REALTOPIC_DEV) -> list[str]:
    """The passages of real pages about the question in ../shared/eval (written by others)."""
    if not path.is_file():
        raise SystemExit(f"{path}: missing (the labelled real pages are expected in ../shared/eval)")
    return [passage["text"] for passage in json.loads(path.read_text(encoding="utf-8"))["passages"]]


def articles(
    split: Path, count: int, on_topic: list[str] | None = None, every: int = 5, half: int | None = None
) -> list[dict]:
    """``count`` distinct articles of real news text, each two halves of two PolNeAR articles (with
    ``half``, at most that many paragraphs of each); with ``on_topic``, every ``every``-th article
    carries two of those passages between its halves (a page on the question, whose passages take
    stances)."""
    sources = [path.read_text(encoding="utf-8") for path in sorted((split / "text").glob("*.txt"))]
    if not sources:
        raise SystemExit(f"{split}: no text/*.txt (the PolNeAR dev split is expected in ../shared/eval)")
    paragraphs = [[p for p in text.split("\n") if p.strip()] for text in sources]
    built = []
    for i in range(count):
        first = i % len(sources)
        second = (first + 1 + i // len(sources)) % len(sources)
        head = paragraphs[first][: max(1, len(paragraphs[first]) // 2)][:half]
        tail = paragraphs[second][len(paragraphs[second]) // 2 :][:half]
        middle = (
            [on_topic[(2 * (i // every) + k) % len(on_topic)] for k in (0, 1)] if on_topic and i % every == 0 else []
        )
        text = "\n\n".join(head + middle + tail)
        built.append(
            {
                "url": f"https://news.example/{i}/",
                "title": head[0][:120],
                "text": text,
                "site_name": "news.example",
                "published": f"2016-{1 + i % 12:02d}-{1 + i % 28:02d}",
            }
        )
    return built


def build(
    split: Path, count: int, cache: Path = CACHE, on_topic: list[str] | None = None, half: int | None = None
) -> Path:
    """The stored, embedded, not yet analysed database (cached by article count, mix and length)."""
    from embeddings.chunking import split_passages
    from embeddings.model import get_embedder, load_token_counter
    from kb import storage
    from kb.vectors import embed_pending

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"analyze-{count}{'-on-topic' if on_topic else ''}{f'-half-{half}' if half else ''}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial.db")
    remove_database(partial)
    tokens = load_token_counter()
    db = storage.open_db(partial)
    try:
        for article in articles(split, count, on_topic, half=half):
            storage.save_document(db, article, split_passages(article["text"], 240, tokens))
    finally:
        db.close()
    embed_pending(partial, get_embedder())
    for item in partial.parent.glob(partial.name + "*"):
        item.rename(cache / item.name.replace(partial.name, path.name))
    return path


def time_analysis(source: Path, code: Path = ROOT) -> tuple[float, str]:
    """Seconds of one `kb analyze` (of the code in ``code``) on a fresh copy of ``source``, and what it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kb.db"
        shutil.copy(source, db)
        for item in source.parent.glob(source.name + ".*"):  # the HNSW file beside it
            if item.is_file():
                shutil.copy(item, Path(tmp) / item.name.replace(source.name, "kb.db"))
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "kb", "analyze", "--db", str(db)], cwd=code, capture_output=True, text=True
        )
        seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"kb analyze failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds, result.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--split", default=str(POLNEAR_DEV), help="a PolNeAR split (text/*.txt)")
    parser.add_argument("--cache", default=str(CACHE), help="where the built database is kept")
    parser.add_argument("--baseline", metavar="COMMIT", help="also time the analysis of this commit's code, alternated")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    database = build(Path(args.split), args.articles, Path(args.cache))
    with worktree(args.baseline) as baseline:
        runs, baseline_runs = [], []
        for _ in range(args.repeat):
            if baseline is not None:
                seconds, baseline_summary = time_analysis(database, baseline)
                baseline_runs.append(seconds)
                print(f"{args.baseline}: {seconds:.1f} s ({baseline_summary})", flush=True)
            seconds, summary = time_analysis(database)
            runs.append(seconds)
            print(f"kb analyze of {args.articles} articles: {seconds:.1f} s ({summary})", flush=True)
    median = statistics.median(runs)
    figures = {
        "articles": args.articles,
        "runs_s": [round(s, 2) for s in runs],
        "median_s": round(median, 2),
        "articles_per_s": round(args.articles / median, 2),
        "summary": summary,
    }
    if baseline_runs:
        figures.update(
            baseline=args.baseline,
            baseline_runs_s=[round(s, 2) for s in baseline_runs],
            baseline_median_s=round(statistics.median(baseline_runs), 2),
            ratio_to_baseline=round(median / statistics.median(baseline_runs), 2),
        )
        print(f"{args.baseline} median {figures['baseline_median_s']} s; ratio {figures['ratio_to_baseline']}")
    print(f"median {median:.1f} s: {args.articles / median:.1f} articles/s")
    write_results(args.output, "analyze", figures)


if __name__ == "__main__":
    main()
