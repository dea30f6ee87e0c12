"""`make bench`: every benchmark, one after the other, into bench/results.json.

Each script measures its hot path against a baseline run in the same
process or command and writes its own key of the results file; this only
runs them in turn (benchmarks on 2 cores must not overlap) and reports how
long each took. ``--quick`` runs every script at a small size, for a check
that takes a couple of minutes instead of up to twenty.

    python bench/run_all.py            # full sizes (about 15 minutes on 2 cores)
    python bench/run_all.py --quick
    python bench/run_all.py --only embedding,serving
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# script name: (full-size arguments, quick arguments)
BENCHMARKS = {
    "pipeline": ([], ["--pages", "60", "--repeat", "1"]),
    "embedding": ([], ["--passages", "200", "--repeat", "1"]),
    "vector_search": ([], ["--sizes", "10000"]),
    "search_api": ([], ["--sizes", "10000"]),
    "startup": (["--baseline", "7f04b32"], ["--size", "10000", "--repeat", "1"]),
    "serving": ([], ["--seconds", "5"]),
    "abuse": ([], ["--seconds", "5"]),
    "cli_search": ([], ["--repeat", "1"]),
    "recrawl": ([], ["--pages", "30", "--repeat", "1"]),
    "distributed": ([], ["--pages", "20", "--repeat", "1"]),
    "focus": ([], ["--relevant", "10", "--off-topic", "30", "--repeat", "1"]),
    "pdf_extraction": ([], ["--pdfs", "4", "--pages", "2"]),
    "analyze": ([], ["--articles", "100", "--repeat", "1"]),
    "analysis": ([], ["--quick"]),
    "realtext": ([], ["--only", "polnear"]),
    "viewpoints": ([], []),
    "retrieval": ([], ["--posts", "3"]),
    "close_match": ([], []),
    "threads": ([], ["--comments", "200", "--new", "10"]),
    "writer": ([], ["--base", "200", "--items", "100", "--repeat", "1"]),
}


# Issue 25's targets, each read from results.json beside its baseline: (benchmark, what, check).
TARGETS = [
    (
        "embedding",
        "embedding at least 3x the plain encode, every vector within cosine 0.99 (KB_EMBED_PRECISION=int8)",
        lambda r: (f"{r['int8_ratio']}x, min cosine {r['int8_min_cosine']}", r["int8_target_met"]),
    ),
    (
        "pipeline",
        "crawl at least 0.5x a bare fetch of the same pages",
        lambda r: (f"{r['ratio_crawl_phase_to_bare_fetch']}x", r["ratio_crawl_phase_to_bare_fetch"] >= 0.5),
    ),
    (
        "writer",
        "kb ingest at least 300 items/s into 100k documents",
        lambda r: (
            f"{r['writer_items_per_s']} items/s (local store {r['local_store_items_per_s']})",
            r["writer_items_per_s"] >= 300,
        ),
    ),
    (
        "serving",
        "hybrid search at least 100 requests/s, faceted pages 150, 16 clients, no errors",
        lambda r: (
            f"hybrid {r['results']['hybrid']['requests_per_s']}/s, faceted {r['results']['faceted']['requests_per_s']}/s",
            r["results"]["hybrid"]["requests_per_s"] >= 100
            and r["results"]["faceted"]["requests_per_s"] >= 150
            and not any(row["non_200"] or row["exceptions"] for row in r["results"].values()),
        ),
    ),
    (
        "startup",
        "kb serve to its first semantic answer under 5 s at 1M passages",
        lambda r: (
            f"{r['ready_s']} s at {r['passages']} passages (baseline {r.get('baseline_medians', {})})",
            r["met"],
        ),
    ),
]


def report_targets(output: str | Path) -> None:
    """Each target, the figure in ``output`` beside it, and whether it is met."""
    import json

    try:
        results = json.loads(Path(output).read_text())
    except (OSError, ValueError):
        return
    print("== targets (issue 25):")
    for name, target, check in TARGETS:
        if name not in results:
            print(f"   {target}: not measured")
            continue
        try:
            figure, met = check(results[name])
        except KeyError as e:
            print(f"   {target}: not measured ({e} missing from results.json)")
            continue
        print(f"   {target}: {figure}: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a check, not figures to publish")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmarks to run")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    started = time.monotonic()
    failed = []
    for name in names:
        full, quick = BENCHMARKS[name]
        script = ROOT / "bench" / f"{name}.py"
        if not script.exists():
            print(f"== {name}: not written yet (bench/{name}.py), skipped", flush=True)
            continue
        command = [sys.executable, str(script), *(quick if args.quick else full), "--output", args.output]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        began = time.monotonic()
        code = subprocess.call(command, cwd=ROOT)
        print(f"== {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {time.monotonic() - began:.0f}s", flush=True)
        if code != 0:
            failed.append(name)
    print(f"== all benchmarks in {time.monotonic() - started:.0f}s; results in {args.output}", flush=True)
    report_targets(args.output)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
