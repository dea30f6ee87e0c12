"""Each benchmark script runs on a tiny size (figures are never asserted here)."""

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def run_benchmark(name: str, tmp_path, *args, timeout: float = 300) -> dict:
    """Run bench/NAME.py with ``args`` into a results file of its own; returns what it wrote under NAME."""
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, f"bench/{name}.py", *map(str, args), "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(output.read_text())[name]


def test_vector_search_benchmark_runs(tmp_path):
    (row,) = run_benchmark("vector_search", tmp_path, "--sizes", 1000, "--cache", tmp_path)["results"]
    assert row["passages"] == 1000
    assert 0 <= row["recall_at_10"] <= 1 and row["hnsw_p50_ms"] > 0


def test_recrawl_benchmark_runs(tmp_path):
    rows = run_benchmark("recrawl", tmp_path, "--pages", 8, "--repeat", 1)["results"]
    assert [r["site"] for r in rows] == ["validators", "bytes"]
    for row in rows:
        assert row["pages"] == 8 and row["first_crawl_passages_encoded"] > 0
        assert row["recrawl_passages_encoded"] == 0 and "8 unchanged" in row["recrawl_summary"]


def test_threads_benchmark_runs(tmp_path):
    row = run_benchmark("threads", tmp_path, "--comments", 20, "--new", 3)
    assert row["baseline_passages_encoded"] == 23 and row["recrawl_passages_encoded"] == 3
    assert row["statement_rows_dropped"] == 0 and row["statement_rows_new"] >= 3
    assert "1 changed" in row["recrawl_summary"]


def test_writer_benchmark_runs(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server (apt-get install redis-server)")
    row = run_benchmark("writer", tmp_path, "--base", 20, "--items", 10, "--repeat", 1)
    assert row["base_documents"] == 20 and row["items"] == 10
    assert row["local_store_items_per_s"] > 0 and row["writer_items_per_s"] > 0


def test_pipeline_benchmark_runs(tmp_path):
    row = run_benchmark("pipeline", tmp_path, "--pages", 10, "--repeat", 2)
    assert row["pages"] == 10 and row["repeat"] == 2 and row["passages"] > 0
    for key in (
        "bare_fetch_pages_per_s",
        "crawl_phase_pages_per_s",
        "crawl_command_pages_per_s",
        "ratio_crawl_phase_to_bare_fetch",
        "extract_command_pages_per_s",
        "extract_peak_mb",
    ):
        assert row[key] > 0, key
    # Two rounds: the second starts from a removed database and the indexes kept beside it.
    assert len(row["crawl_phase_s_all"]) == len(row["bare_fetch_s_all"]) == len(row["extract_command_s_all"]) == 2
    assert set(row["ms_per_page"]) == {"bare_fetch", "crawl_phase", "extract_cpu", "passages_cpu", "store_cpu"}


def test_embedding_benchmark_runs(tmp_path):
    row = run_benchmark("embedding", tmp_path, "--passages", 40, "--repeat", 1)
    assert row["passages"] == 40 and row["repeat"] == 1 and row["lengths"]["tokens_max"] <= 256
    assert row["baseline_passages_per_s"] > 0 and row["embedder_passages_per_s"] > 0 and row["ratio"] > 0
    assert 0.99 <= row["min_cosine"] <= row["mean_cosine"] <= 1.0001
    assert row["setup_first_use_s"] >= 0 and row["setup_cached_s"] >= 0 and row["backend"]
    assert row["int8_ratio"] > 0 and 0.99 <= row["int8_min_cosine"] <= row["int8_mean_cosine"] <= 1.0001
    assert row["int8_target_met"] == (row["int8_ratio"] >= 3 and row["int8_min_cosine"] >= 0.99)


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    """One cache directory for the server benchmarks: the first builds the 1000-passage database, the next reuses it."""
    return tmp_path_factory.mktemp("synthetic")


def test_search_api_benchmark_runs(tmp_path, synthetic_cache):
    (row,) = run_benchmark("search_api", tmp_path, "--sizes", 1000, "--cache", synthetic_cache, timeout=600)["results"]
    assert row["passages"] == 1000 and row["queries_per_mode"] == 50
    assert 0 <= row["recall_at_10"] <= 1 and row["startup_s"] > 0
    for mode in ("keyword", "semantic", "hybrid"):
        assert 0 < row[f"{mode}_p50_ms"] <= row[f"{mode}_p95_ms"]


def test_startup_benchmark_runs(tmp_path, synthetic_cache):
    data = run_benchmark("startup", tmp_path, "--size", 1000, "--repeat", 1, "--cache", synthetic_cache, timeout=600)
    assert data["passages"] == 1000 and len(data["runs"]) == 1
    assert data["first_page_s"] > 0 and data["met"] == (data["ready_s"] < data["target_s"])


def test_serving_benchmark_runs(tmp_path, synthetic_cache):
    data = run_benchmark("serving", tmp_path, "--size", 1000, "--seconds", 2, "--cache", synthetic_cache, timeout=600)
    assert data["passages"] == 1000 and data["clients"] == 16
    assert set(data["results"]) == {"table", "faceted", "keyword", "hybrid"}
    for row in data["results"].values():
        assert row["requests"] > 0 and row["requests_per_s"] > 0
        assert isinstance(row["non_200"], int) and isinstance(row["exceptions"], int)


def test_cli_search_benchmark_runs(tmp_path):
    data = run_benchmark("cli_search", tmp_path, "--repeat", 1, timeout=600)
    assert set(data["median_wall_s"]) == {
        *("python", "torch", "sentence_transformers"),
        *("first_semantic", "semantic_torch", "keyword", "semantic", "hybrid"),
    }
    assert all(seconds > 0 for seconds in data["median_wall_s"].values())
    assert data["semantic_speedup_vs_torch"] > 0


def test_abuse_benchmark_runs(tmp_path, synthetic_cache):
    data = run_benchmark(
        "abuse", tmp_path, "--size", 1000, "--seconds", 2, "--clients", 8, "--cache", synthetic_cache, timeout=600
    )
    assert data["abusive_clients"] == 8 and set(data["p95_ratio"]) == {"home", "search", "table"}
    for phase in ("no_load", "under_abuse"):
        assert all(page["requests"] > 0 and page["p50_ms"] <= page["p95_ms"] for page in data[phase].values())
        assert data["resident_mb"][phase] > 0
    assert "403" in data["abusive_requests"]  # the public mode refused the ad-hoc SQL
    assert sum(data["abusive_requests"].values()) > 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server (apt-get install redis-server)")
def test_distributed_benchmark_runs(tmp_path):
    row = run_benchmark("distributed", tmp_path, "--pages", 10, "--repeat", 1)
    assert row["pages"] == 10 and len(row["one_worker_s_all"]) == len(row["two_workers_s_all"]) == 1
    assert row["one_worker_pages_per_s"] > 0 and row["two_workers_pages_per_s"] > 0 and row["ratio_two_to_one"] > 0


def test_focus_benchmark_runs(tmp_path):
    row = run_benchmark("focus", tmp_path, "--relevant", 4, "--off-topic", 12, "--repeat", 1)
    assert row["unfocused"]["requested"] == 16 and row["unfocused"]["relevant_stored"] == 4
    assert row["focused"]["relevant_stored"] == 4 and row["focused"]["requested"] < 16
    assert "low relevance" in row["focused"]["summary"]


def test_pdf_extraction_benchmark_runs(tmp_path):
    row = run_benchmark("pdf_extraction", tmp_path, "--pdfs", 2, "--pages", 2)
    pdfium = next(r for r in row["results"] if r["library"] == "pypdfium2")
    assert 0 < pdfium["words"] <= 1 and 0 <= pdfium["paragraphs"] <= 1 and pdfium["pages_per_s"] > 0


def test_analyze_benchmark_runs(tmp_path):
    row = run_benchmark("analyze", tmp_path, "--articles", 6, "--repeat", 1, "--cache", tmp_path)
    assert row["articles"] == 6 and len(row["runs_s"]) == 1 and row["articles_per_s"] > 0
    assert "analyzed:" in row["summary"]


@pytest.mark.parametrize("args", [["--half", "0"], ["--replicate", "0"], ["--runs", "everything"]])
def test_incremental_analysis_benchmark_refuses_bad_sizes(tmp_path, args):
    result = subprocess.run(
        [sys.executable, "bench/analysis.py", *args, "--cache", str(tmp_path), "--output", str(tmp_path / "r.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "a whole number from 1" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_incremental_analysis_benchmark_runs(tmp_path):
    row = run_benchmark(
        "analysis", tmp_path, "--articles", 6, "--replicate", 2, "--new", 2, "--changed", 1, "--cache", tmp_path,
        timeout=600,
    )  # fmt: skip
    runs = {
        "first",
        "catch_up",
        "unchanged",
        "unchanged_crawl",
        "topics",
        "topics_before",
        "stances",
        "stances_uncached",
        "people",
        "changed",
        "changed_alone",
        "full",
    }
    assert set(row["results"]) == runs | {"replicated_in_s"}
    assert row["documents"] == 12 and row["passages"] > 12  # six articles, each with its copy
    assert all(row["results"][run]["seconds"] > 0 and row["results"][run]["peak_rss_mb"] > 0 for run in runs)
    # The replicated base is what an analysis of its documents leaves: each article and its copy one work,
    # nothing to derive or judge again.
    catch_up = row["results"]["catch_up"]["summary"]
    assert "statements of 0 new or changed documents" in catch_up and "(0 judged in this analysis)" in catch_up
    assert "6 works (6 published more than once)" in catch_up and "of 12 documents relevant" in catch_up
    assert "statements of 3 new or changed documents" in row["results"]["changed"]["summary"]
    assert "statements of 0 new or changed documents" in row["results"]["unchanged"]["summary"]
    assert "(0 judged in this analysis)" in row["results"]["unchanged"]["summary"]
    assert "analysis up to date" in row["results"]["unchanged_crawl"]["summary"]
    assert "(0 judged" not in row["results"]["first"]["summary"]  # the on-topic pages take stances
    assert row["changed_ratio_to_alone"] > 0 and row["stances_ratio_to_uncached"] > 0
    assert row["topics_ratio_to_before"] > 0
    # What changed is what a topics.yml edit costs, not what it derives.
    assert row["results"]["topics"]["summary"] == row["results"]["topics_before"]["summary"]
    # Judging again after a stances.yml edit encodes the statements only without their kept embeddings.
    assert row["results"]["stances"]["summary"] == row["results"]["stances_uncached"]["summary"]
    # A people.yml edit parses again only the documents that name the person it changed.
    people = row["results"]["people"]
    assert f"statements of {people['naming']} new or changed documents" in people["summary"]


def test_realtext_benchmark_scores_polnear(tmp_path):
    row = run_benchmark("realtext", tmp_path, "--only", "polnear")
    for kind in ("direct", "indirect"):
        assert row["polnear"][kind]["gold"] > 0
        assert 0 <= row["polnear"][kind]["content_speaker_f1"] <= row["polnear"][kind]["content_f1"] <= 1


def test_viewpoints_benchmark_scores_every_method(tmp_path):
    row = run_benchmark("viewpoints", tmp_path, "--passages", 30)
    assert set(row["methods"]) == {
        "nearest examples",
        "logistic regression",
        "cues, no scope",
        "cues with scope",
        "cues with scope, then the passages beside (kb analyze)",
    }
    for figures in row["methods"].values():
        assert figures["stance_total"] > 0 and 0 <= figures["stance_right"] <= figures["stance_total"]
        assert 0 <= figures["abstained"] <= 1 and 0 < figures["relevance_precision"] <= 1


def test_retrieval_benchmark_and_hybrid_never_ranks_the_answer_below_semantic(tmp_path):
    """A few development questions about two posts of the real blog (../shared/eval), at a tiny size."""
    row = run_benchmark("retrieval", tmp_path, "--posts", 2, "--questions", 6)
    assert row["questions"] == 6 and set(row["modes"]) == {"keyword", "semantic", "hybrid"}
    for figures in row["modes"].values():
        assert 0 <= figures["mrr_at_10"] <= 1 and 0 <= figures["hit_at_10"] <= 6
    worst = 11  # not in the first ten
    for question, ranks in row["ranks"].items():
        assert (ranks["hybrid"] or worst) <= (ranks["semantic"] or worst), question
    assert row["modes"]["semantic"]["hit_at_10"] >= 4  # the answering paragraph is found at all
