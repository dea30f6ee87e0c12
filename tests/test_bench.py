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


def test_recrawl_benchmark_runs(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "bench/recrawl.py", "--pages", "8", "--repeat", "1", "--output", output],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(output.read_text())["recrawl"]["results"]
    assert [r["site"] for r in rows] == ["validators", "bytes"]
    for row in rows:
        assert row["pages"] == 8 and row["first_crawl_passages_encoded"] > 0
        assert row["recrawl_passages_encoded"] == 0 and "8 unchanged" in row["recrawl_summary"]
