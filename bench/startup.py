"""Start-up: from launching `kb serve` to its first answers, at a million passages.

On the synthetic knowledge base of bench/vector_search.py (built once, cached
in bench/cache/, brought up to the schema by bench/search_api.py), the real
`kb serve` is launched in a child process (two workers, as by default) and
polled until it answers:

- first_page_s: the first table page (`/kb/documents.json`), which needs no model;
- ready_s: the first semantic search (`/kb/semantic_search.json`), which needs
  the query encoder and the HNSW index. Target (issue 25): under 5 s at 1M.

With ``--baseline COMMIT`` the same is measured with that commit's code (a
temporary git worktree, the same virtual environment and database),
alternated with the current code; the ratio of the medians is reported. The
file of the HNSW graph stays in the page cache between runs, as it does when
a server is restarted; a first start after a reboot reads it from disk.

    python bench/startup.py                         # 1M passages, 3 rounds
    python bench/startup.py --baseline 7f04b32      # and the code before the graph was memory-mapped
    python bench/startup.py --size 10000 --repeat 1 # quick
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, worktree, write_results  # noqa: E402
from bench.search_api import database  # noqa: E402
from bench.vector_search import CACHE  # noqa: E402

FIRST_PAGE = "/kb/documents.json?_size=1"
SEMANTIC = "/kb/semantic_search.json?q=how+much+linear+algebra&_shape=array"
TARGET_S = 5.0


def start_up(db: Path, code: Path, timeout: float = 300) -> dict:
    """Seconds from launching `kb serve` (the code in ``code``) to its first page and first semantic answer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", "serve", "--db", str(db), "--port", str(port)],
            cwd=code,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            first_page = _first_answer(process, url + FIRST_PAGE, started, timeout)
            ready = _first_answer(process, url + SEMANTIC, started, timeout)
        except RuntimeError:
            log.seek(0)
            raise SystemExit(f"kb serve failed:\n{log.read()[-2000:].decode(errors='replace')}") from None
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"first_page_s": round(first_page, 2), "ready_s": round(ready, 2)}


def _first_answer(process: subprocess.Popen, url: str, started: float, timeout: float) -> float:
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            response = httpx.get(url, timeout=timeout)
        except httpx.TransportError:
            time.sleep(0.02)
            continue
        response.raise_for_status()
        return time.monotonic() - started
    raise RuntimeError(f"no answer within {timeout} s")


def medians(runs: list[dict]) -> dict:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="passages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="COMMIT", help="also start that commit's code, alternated")
    parser.add_argument("--cache", default=str(CACHE), help="where the synthetic databases are kept")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    db = database(args.size, Path(args.cache))
    runs, baseline_runs = [], []
    with worktree(args.baseline) as baseline:
        for round_ in range(args.repeat):
            if baseline is not None:
                baseline_runs.append(start_up(db, baseline))
                print(f"round {round_ + 1}, {args.baseline}: {baseline_runs[-1]}", flush=True)
            runs.append(start_up(db, ROOT))
            print(f"round {round_ + 1}, now: {runs[-1]}", flush=True)
    figures = {"passages": args.size, "runs": runs, **medians(runs)}
    figures["target_s"] = TARGET_S
    figures["met"] = figures["ready_s"] < TARGET_S
    if baseline_runs:
        figures.update(baseline=args.baseline, baseline_runs=baseline_runs, baseline_medians=medians(baseline_runs))
        figures["ratio_to_baseline"] = round(figures["ready_s"] / figures["baseline_medians"]["ready_s"], 2)
    print(
        f"{args.size} passages: first page {figures['first_page_s']} s, first semantic answer {figures['ready_s']} s "
        f"(target under {TARGET_S} s: {'met' if figures['met'] else 'not met'})"
        + (f"; {args.baseline}: {figures['baseline_medians']}" if baseline_runs else "")
    )
    write_results(args.output, "startup", figures)


if __name__ == "__main__":
    main()
