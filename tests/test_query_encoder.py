"""Questions encoded without torch: the compiled query model a previous process prepared.

Each check runs in a child process of its own, as a shell `kb search` does,
sharing one empty $KB_CACHE_DIR: the first child finds nothing, encodes with
torch and prepares the compiled model; the ones after it must find that
model, never import torch, and give the same vectors.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from .conftest import ROOT
from .test_embedding_backend import TEXTS

CHILD = """
import json, sys
from embeddings.model import get_query_encoder

encoder = get_query_encoder()
vectors = [encoder.encode_query(text).tolist() for text in json.loads(sys.argv[1])]
try:
    encoder.encode_query("   ")
    empty = "accepted"
except ValueError as e:
    empty = str(e)
print(json.dumps({
    "kind": type(encoder).__name__, "name": encoder.name, "dimensions": encoder.dimensions,
    "torch_imported": "torch" in sys.modules, "vectors": vectors, "empty": empty,
}))
"""

ENTRY = """
from embeddings.model import DEFAULT_MODEL, model_path
from embeddings.openvino_backend import _query_entry

print(_query_entry(DEFAULT_MODEL, model_path(DEFAULT_MODEL)))
"""


def run_child(code: str, cache, *args: str, backend: str = "auto") -> dict | str:
    env = {**os.environ, "KB_CACHE_DIR": str(cache), "KB_EMBED_BACKEND": backend}
    env.pop("KB_MODEL", None)
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    return json.loads(last) if last.startswith("{") else last


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("kb-cache")


@pytest.fixture(scope="module")
def first(cache):
    """The first process on a machine: no compiled model yet."""
    return run_child(CHILD, cache, json.dumps(TEXTS))


@pytest.fixture(scope="module")
def second(cache, first):
    return run_child(CHILD, cache, json.dumps(TEXTS))


def test_first_process_encodes_with_torch_and_prepares_the_compiled_model(first, cache):
    assert first["kind"] == "Embedder" and first["torch_imported"]
    (entry,) = (cache / "openvino" / "queries").iterdir()
    assert (cache / "openvino" / "queries" / entry.name).read_text().startswith("{")


def test_later_processes_use_it_without_importing_torch(second):
    assert second["kind"] == "CompiledQueryEncoder"
    assert not second["torch_imported"]


def test_compiled_vectors_match_torch(first, second):
    assert second["name"] == first["name"] and second["dimensions"] == first["dimensions"] == 384
    torch_vectors, compiled = np.array(first["vectors"]), np.array(second["vectors"])
    assert compiled.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(compiled, axis=1), 1, atol=1e-5)
    # Short, unicode, code, whitespace, and past the 256-token window: the same vectors.
    assert np.min(np.sum(torch_vectors * compiled, axis=1)) > 0.9999


def test_empty_query_is_refused_by_both(first, second):
    assert first["empty"] == second["empty"] == "empty query"


def test_torch_backend_never_takes_the_compiled_path(cache, second):
    assert run_child(CHILD, cache, json.dumps(TEXTS[:1]), backend="torch")["kind"] == "Embedder"


def test_a_damaged_entry_falls_back_to_torch_and_is_written_again(cache, second):
    entry = cache / "openvino" / "queries" / os.path.basename(run_child(ENTRY, cache))
    entry.write_text("{not json")
    assert run_child(CHILD, cache, json.dumps(TEXTS[:1]))["kind"] == "Embedder"
    assert json.loads(entry.read_text())["dimensions"] == 384  # prepared again
    assert run_child(CHILD, cache, json.dumps(TEXTS[:1]))["kind"] == "CompiledQueryEncoder"


def test_entry_key_follows_the_model_files(tmp_path, monkeypatch):
    """A changed model directory (new weights, a new tokenizer) must not find the old compiled model."""
    from embeddings.openvino_backend import _query_entry

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "tokenizer.json").write_text("{}")
    (model / "weights").write_bytes(b"1234")
    before = _query_entry("m", model)
    assert _query_entry("m", model) == before and _query_entry("other", model) != before
    (model / "weights").write_bytes(b"12345")
    assert _query_entry("m", model) != before
