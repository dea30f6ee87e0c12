"""Each benchmark script runs on a tiny size (figures are never asserted here)."""

import json
import subprocess
import sys

from .conftest import ROOT


def test_vector_search_benchmark_runs(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "bench/vector_search.py", "--sizes", "1000", "--output", output, "--cache", tmp_path],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(output.read_text())["vector_search"]["results"]
    assert row["passages"] == 1000
    assert 0 <= row["recall_at_10"] <= 1 and row["hnsw_p50_ms"] > 0
