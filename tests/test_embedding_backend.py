"""The OpenVINO encoding path against plain sentence-transformers, and its cache.

The OpenVINO checks run in one child process with its own empty
$KB_CACHE_DIR, so the conversion, the cache and the path a large call takes
are those of a fresh `kb embed`. The child loads the model once and compares
against its plain SentenceTransformer, the one the torch path uses.
"""

import json
import os
import subprocess
import sys

import pytest

from embeddings.model import ModelError, backend_setting, precision_setting

from .conftest import ROOT

# Texts of very different kinds and lengths, so a batch is padded and one text truncated.
TEXTS = [
    "math",
    "Do I need calculus to train neural networks?",
    "Eigenvalues λ of A satisfy det(A − λI) = 0; the SVD is A = UΣVᵀ.",
    "def loss(w): return ((X @ w - y) ** 2).mean()  # least squares",
    "Régularisation L2 : on pénalise la norme des poids.",
    "  whitespace   and\nnewlines\tinside  ",
    " ".join(
        [
            "Probability and statistics explain why models generalise, and linear algebra "
            "explains what a layer computes; calculus explains how it learns."
        ]
        * 20
    ),  # past 256 tokens
]

CHILD = """
import json, sys
from pathlib import Path
import numpy as np
from embeddings.model import FAST_MIN_TEXTS, get_embedder
from embeddings.openvino_backend import OpenVinoEncoder, cache_dir

texts = json.loads(sys.argv[1])
embedder = get_embedder()
fast = embedder.prepare()  # converts into the empty $KB_CACHE_DIR
plain = embedder.model.encode(texts, normalize_embeddings=True)
together = fast.encode(texts)
alone = np.vstack([fast.encode([text]) for text in texts])
many = [f"{i}: {texts[i % len(texts)]}" for i in range(FAST_MIN_TEXTS)]
cached = OpenVinoEncoder.load(embedder.model, embedder.name, require_bf16=False)
print(json.dumps({
    "precision": fast.precision,
    "dtype": str(together.dtype), "shape": list(together.shape), "dimensions": embedder.dimensions,
    "max_norm_error": float(np.max(np.abs(np.linalg.norm(together, axis=1) - 1))),
    "min_cosine_together": float(np.min(np.sum(together * plain, axis=1))),
    "min_cosine_alone": float(np.min(np.sum(alone * plain, axis=1))),
    "large_call_is_fast": bool(np.array_equal(embedder.encode(many), fast.encode(many))),
    "cache_entries": sorted(p.name for p in (cache_dir() / "openvino").iterdir()),
    "cached_vs_converted_min_cosine": float(np.min(np.sum(cached.encode(texts) * together, axis=1))),
}))
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    cache = tmp_path_factory.mktemp("kb-cache")
    env = {**os.environ, "KB_CACHE_DIR": str(cache), "KB_EMBED_BACKEND": "openvino"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(TEXTS)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fast_vectors_match_plain_sentence_transformers(child):
    assert child["dtype"] == "float32" and child["shape"] == [len(TEXTS), child["dimensions"]]
    assert child["max_norm_error"] < 1e-5
    # Together (padded batch) and one by one: every vector within cosine 0.999 (the goal is 0.99).
    assert child["min_cosine_together"] > 0.999
    assert child["min_cosine_alone"] > 0.999


def test_large_calls_take_the_fast_path(child):
    assert child["large_call_is_fast"]


def test_conversion_is_cached_once_without_leftovers(child):
    (entry,) = child["cache_entries"]  # no .tmp- directory left behind, one entry for two loads
    assert not entry.startswith(".")
    assert child["cached_vs_converted_min_cosine"] > 0.99999  # the saved model reads back as converted


SMALL_CALL_CHILD = """
import json, sys
import numpy as np
from embeddings.model import FAST_MIN_TEXTS, get_embedder

texts = json.loads(sys.argv[1])
embedder = get_embedder()
before = embedder.encode(texts[:3])
embedder.encode([f"{i}: {texts[0]}" for i in range(FAST_MIN_TEXTS)])  # a large call: the fast path, where it runs
print(json.dumps({"same": bool(np.array_equal(before, embedder.encode(texts[:3])))}))
"""


def test_a_small_call_gives_the_same_vectors_whatever_the_process_did_before(tmp_path):
    """Where the bf16 path runs (auto backend), a large call sets it up; small calls stay on torch all the
    same, so an analysis's examples are encoded alike in every process (issue 21's incremental = full)."""
    assert run_child(SMALL_CALL_CHILD, tmp_path, {"KB_EMBED_BACKEND": "auto"})["same"]


def run_child(code: str, cache, env: dict, *args: str) -> dict:
    """What ``code`` printed last (JSON), run in a new process with its own empty $KB_CACHE_DIR."""
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TEXTS), *args],
        cwd=ROOT,
        env={**os.environ, "KB_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("torch", "torch"), (" OpenVINO ", "openvino")])
def test_backend_setting(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("KB_EMBED_BACKEND", raising=False)
    else:
        monkeypatch.setenv("KB_EMBED_BACKEND", value)
    assert backend_setting() == expected


def test_unknown_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("KB_EMBED_BACKEND", "onnx")
    with pytest.raises(ModelError, match="KB_EMBED_BACKEND"):
        backend_setting()


INT8_CHILD = """
import json, sys
import numpy as np
if sys.argv[2] == "no-nncf":
    sys.modules["nncf"] = None  # as if it were not installed
from embeddings.model import ModelError, get_embedder
from embeddings.openvino_backend import SHORT_TOKENS, cache_dir

texts = json.loads(sys.argv[1])
embedder = get_embedder()
try:
    fast = embedder.prepare()
except ModelError as e:
    print(json.dumps({"error": str(e)}))
    raise SystemExit(0)
plain = embedder.model.encode(texts, normalize_embeddings=True)
together = fast.encode(texts)
short = [t for t in texts if len(embedder.model.tokenizer(t)["input_ids"]) < SHORT_TOKENS]
print(json.dumps({
    "precision": fast.precision,
    "min_cosine": float(np.min(np.sum(together * plain, axis=1))),
    "short_min_cosine": float(np.min(np.sum(fast.encode(short) * embedder.model.encode(short, normalize_embeddings=True), axis=1))),
    "cache_entries": sorted(p.name for p in (cache_dir() / "openvino").iterdir()),
}))
"""


def run_int8_child(tmp_path, mode: str = "") -> dict:
    return run_child(INT8_CHILD, tmp_path, {"KB_EMBED_BACKEND": "openvino", "KB_EMBED_PRECISION": "int8"}, mode)


def test_the_int8_encoder_keeps_every_vector_within_cosine_0_99(tmp_path):
    """KB_EMBED_PRECISION=int8: NNCF's quantised model, cached beside the converted one; short texts
    (headings) through the bfloat16 model, so they stay as close as that one keeps them."""
    child = run_int8_child(tmp_path)
    assert child["precision"] == "int8"
    assert child["min_cosine"] > 0.99
    assert child["short_min_cosine"] > 0.999
    assert len(child["cache_entries"]) == 2 and any(e.startswith("int8-") for e in child["cache_entries"])


def test_int8_without_nncf_says_what_to_install(tmp_path):
    child = run_int8_child(tmp_path, "no-nncf")
    assert "math-ml-kb[int8]" in child["error"]


def test_unknown_precision_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("KB_EMBED_PRECISION", "fp4")
    with pytest.raises(ModelError, match="KB_EMBED_PRECISION must be one of bf16, int8"):
        precision_setting()


TELEMETRY_CHILD = """
import json
import embeddings  # noqa: F401
from nncf.telemetry.wrapper import NNCFTelemetry, telemetry
from openvino.tools.ovc import telemetry_utils
print(json.dumps({"nncf sends": isinstance(telemetry, NNCFTelemetry), "ovc": telemetry_utils.tm.__name__}))
"""


def test_converting_and_quantising_send_no_telemetry():
    """OpenVINO's converter and NNCF would report to Google Analytics from a forked process that an
    offline `kb crawl` waited for at exit; with embeddings imported both take their stubs, which send
    nothing (outside CI too: the libraries stay quiet only where $CI is set)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL", "NNCF_CI", "NNCF_DEV")}
    result = subprocess.run(
        [sys.executable, "-c", TELEMETRY_CHILD], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"nncf sends": False, "ovc": "openvino.tools.ovc.telemetry_stub"}
