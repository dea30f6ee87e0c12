"""How long one `kb search` takes, wall clock, start-up and model load included.

A researcher runs `kb search` from a shell: every call is a new process,
which imports its libraries and (for semantic and hybrid) loads the model
before it encodes the question. The sample site is crawled and embedded once
(`kb demo --no-serve`) with an empty $KB_CACHE_DIR, and one semantic search
prepares the compiled query model (timed as ``first_semantic``, what the first
search on a machine costs). Then each mode runs ``--repeat`` times, in turn,
and the median wall time is reported, beside the baseline (semantic with
KB_EMBED_BACKEND=torch: the model loaded through sentence-transformers, as
every search did before the compiled query path), the time a bare
`python -c pass` takes and the imports that dominate (torch,
sentence-transformers), each in a process of its own. Target (issue 20):
semantic and hybrid within 3 s.

    python bench/cli_search.py
    python bench/cli_search.py --repeat 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402

QUESTION = "do I need calculus to train neural networks?"
IMPORTS = {"python": "pass", "torch": "import torch", "sentence_transformers": "import sentence_transformers"}


def wall(command: list[str], **env: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env={**os.environ, **env})
    return time.perf_counter() - started


def kb_search(db: Path, mode: str) -> list[str]:
    return [sys.executable, "-m", "kb", "search", QUESTION, "--db", str(db), "--mode", mode, "--limit", "3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        cache = {"KB_CACHE_DIR": str(Path(tmp) / "cache")}
        wall([sys.executable, "-m", "kb", "demo", "--no-serve", "--db", str(db)], **cache)
        times: dict[str, list[float]] = {"first_semantic": [wall(kb_search(db, "semantic"), **cache)]}
        for _ in range(args.repeat):
            for name, code in IMPORTS.items():
                times.setdefault(name, []).append(wall([sys.executable, "-c", code]))
            times.setdefault("semantic_torch", []).append(
                wall(kb_search(db, "semantic"), KB_EMBED_BACKEND="torch", **cache)
            )
            for mode in ("keyword", "semantic", "hybrid"):
                times.setdefault(mode, []).append(wall(kb_search(db, mode), **cache))
    medians = {name: round(statistics.median(values), 2) for name, values in times.items()}
    print(medians, flush=True)
    write_results(
        args.output,
        "cli_search",
        {
            "repeat": args.repeat,
            "median_wall_s": medians,
            "semantic_speedup_vs_torch": round(medians["semantic_torch"] / medians["semantic"], 2),
            "target": "semantic and hybrid within 3 s",
        },
    )


if __name__ == "__main__":
    main()
