"""OpenVINO encoding: the sentence-transformers pipeline compiled for the CPU, in bfloat16.

Why: a plain ``SentenceTransformer.encode`` runs float32 kernels. The model's
whole pipeline (transformer, pooling, normalisation) converted to OpenVINO
and run in bfloat16, in batches of similar token length, encodes 2.3 to 3.3
times the passages per second on this project's 2-core Zen 4 (AVX512-BF16),
every vector within cosine 0.9999 of torch's (bench/embedding.py). Torch's
own bfloat16 (weights cast, or autocast) reached 1.7-1.9x with the same
fidelity.

Faster still, with $KB_EMBED_PRECISION=int8: the same model quantised to
int8 by OpenVINO's own tool, NNCF, calibrated on the project's own text
(calibration.txt). Quantised whole, a 5-token heading's vector fell to
cosine 0.96 of torch's; so the feed-forward outputs of layers 0 and 2 (the
most sensitive, measured layer by layer) stay in bfloat16, and texts under
SHORT_TOKENS tokens (headings, which cost little) go through the bfloat16
model. That gives about 3x the plain encode with every vector of
bench/embedding.py within cosine 0.99. It is not the default: the relevance
judged from such vectors lost precision on real text (BENCHMARKS.md).

embeddings.model.Embedder decides when to use it ($KB_EMBED_BACKEND): on a
CPU without native bfloat16 OpenVINO would run float32, no faster than torch,
so ``auto`` keeps torch there.

The converted model is cached in $KB_CACHE_DIR (default $XDG_CACHE_HOME/kb or
~/.cache/kb) under ``openvino/<digest>``; the digest covers the model's
weights and configuration and the library versions, so a changed model or an
upgrade converts again. Converting costs a few seconds once, loading the
cached model about a second, and only a process that encodes many texts pays
either.

Queries take the same cached model without torch (CompiledQueryEncoder): a
shell `kb search` is a new process, and importing sentence-transformers alone
costs six seconds there, more than the whole search may take. The compiled
model in float32 with the model's own tokenizer.json (the Rust `tokenizers`)
answers in under a second, vectors within cosine 0.9999 of torch's. Finding
it without loading the model needs a key that does not come from the weights
in memory, so ``queries/<digest>.json`` maps the model directory's files
(names, sizes, modification times) and the library versions to a converted
model. The first process that encodes a query with torch writes that entry,
after checking the compiled model's vectors against torch's.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# OpenVINO's converter and NNCF send usage telemetry to Google Analytics unless a user has opted out
# (`opt_in_out --opt_out`), from a forked process that the sender waits for at exit: offline, a
# `kb crawl` that had just converted the model never exited. Both fall back to a stub that sends
# nothing when openvino_telemetry cannot be imported, and this process never sends it.
sys.modules.setdefault("openvino_telemetry", None)

# Texts per OpenVINO inference (measured on 2 cores: 16 to 48 alike, 64 slower).
FAST_BATCH = 32
# Short and long, so a batch is padded and one text truncated: the conversion
# traces the padding path, and the load-time check compares vectors against torch's.
CHECK_TEXTS = [
    "math",
    "How much linear algebra does a machine-learning engineer need?",
    "Gradient descent follows the negative gradient of the loss; its step size is the learning rate.",
    " ".join(
        [
            "Probability, statistics and calculus explain why regularisation, normalisation "
            "and careful initialisation make deep networks train."
        ]
        * 12
    ),
]


def _pin_cxx_runtime() -> bool:
    """Load the system libstdc++ process-wide before usearch can be; False if usearch came first.

    usearch's compiled module carries its own static libstdc++ and exports its
    locale symbols as process-wide unique symbols, so a C++ library loaded
    after it binds to them: torch's tracer then hangs and OpenVINO cannot read
    a model (the problem of pytorch#109923). Loaded globally first, as
    importing torch would, the system libstdc++ owns those symbols. The
    embeddings package imports this module first, before embeddings.ann; a
    process that loaded usearch some other way first keeps the torch path.
    """
    if "usearch.compiled" in sys.modules:
        return False
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
        except OSError:  # no system libstdc++ to pin
            pass
    return True


CXX_RUNTIME_PINNED = _pin_cxx_runtime()


PRECISIONS = {"bf16": "bfloat16", "f32": "float32", "int8": "int8"}
# Texts with fewer tokens go through the bfloat16 model when the int8 one encodes the rest.
SHORT_TOKENS = 16
# The MatMuls left in bfloat16 when quantising: the feed-forward outputs of the first three
# layers of a BERT-style encoder (names as OpenVINO's converter gives them).
INT8_KEPT = [r".*encoder\.layer\.[02]\.output\.dense/.*"]
CALIBRATION = Path(__file__).with_name("calibration.txt")


class FastPathUnavailable(Exception):
    """Why the OpenVINO path is not used (torch encodes instead)."""


class OpenVinoEncoder:
    """A sentence-transformers pipeline compiled by OpenVINO: texts in, unit vectors out.

    Tokenisation stays sentence-transformers' own (``model.preprocess``), so
    the model sees exactly the tokens, truncation included, that torch would.
    """

    def __init__(self, model, compiled, input_names: list[str], precision: str, short=None):
        self.model = model
        self.source: Path | None = None  # the cached model.xml
        self.input_names = input_names
        self.precision = precision
        self.request = compiled.create_infer_request()
        # The model that texts under SHORT_TOKENS go through (int8 encoders only).
        self.short_request = short.create_infer_request() if short is not None else None
        self.lock = threading.Lock()  # one infer request: Datasette encodes queries from several threads

    @classmethod
    def load(
        cls, model, name: str, require_bf16: bool, precision: str | None = None, int8: bool = False
    ) -> OpenVinoEncoder:
        """``model`` compiled for the CPU: in ``precision`` ("f32", "bf16"), else in bfloat16
        where the CPU has it natively; with ``int8``, its quantised model in front of that one
        (which then encodes only the short texts)."""
        import openvino as ov

        core = ov.Core()
        bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if require_bf16 and not bf16:
            raise FastPathUnavailable("this CPU has no native bfloat16")
        precision = precision or ("bf16" if bf16 else "f32")
        input_names, constants = _model_inputs(model)
        ov_model, source = _cached_conversion(model, name, input_names, constants)
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        compiled = core.compile_model(ov_model, "CPU", config)
        if int8:
            quantised, source = _cached_quantisation(model, name, input_names, constants, ov_model)
            encoder = cls(model, core.compile_model(quantised, "CPU", config), input_names, "int8", short=compiled)
        else:
            encoder = cls(model, compiled, input_names, PRECISIONS[precision])
        encoder.source = source
        return encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``: tokenised once, run in batches of similar token length so that
        little compute goes to padding (sentence-transformers sorts by characters)."""
        features = self.model.preprocess(texts)
        order = np.argsort(-features["attention_mask"].sum(dim=1).numpy(), kind="stable")
        vectors = np.empty((len(texts), self.model.get_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(texts), FAST_BATCH):
            rows = order[start : start + FAST_BATCH]
            vectors[rows] = self._infer(self._batch(features, rows))
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _request(self, inputs: list[np.ndarray]):
        short = self.short_request is not None and inputs[0].shape[1] < SHORT_TOKENS
        return self.short_request if short else self.request

    def _batch(self, features: dict, rows: np.ndarray) -> list[np.ndarray]:
        """The inputs of ``rows``, cut to the token positions any of them uses (either padding side)."""
        import torch

        index = torch.from_numpy(rows)
        columns = features["attention_mask"][index].any(dim=0)
        return [features[name][index][:, columns].numpy() for name in self.input_names]

    def _infer(self, inputs: list[np.ndarray]) -> np.ndarray:
        with self.lock:
            return self._request(inputs).infer(inputs)[0].copy()  # the request reuses its output buffer

    def min_cosine(self, model) -> float:
        """The lowest cosine between this encoder's and torch's vectors of the check texts."""
        reference = model.encode(CHECK_TEXTS, normalize_embeddings=True, show_progress_bar=False)
        return float(np.min(np.sum(self.encode(CHECK_TEXTS) * reference, axis=1)))


class CompiledQueryEncoder:
    """One query at a time through the cached OpenVINO model, without importing torch."""

    def __init__(self, name: str, compiled, tokenizer, dimensions: int):
        self.name = name
        self.dimensions = dimensions
        self.tokenizer = tokenizer
        self.request = compiled.create_infer_request()
        self.lock = threading.Lock()

    @classmethod
    def from_cache(cls, name: str, model_dir: str | Path) -> CompiledQueryEncoder | None:
        """The encoder a previous process prepared for ``model_dir``, or None."""
        if not CXX_RUNTIME_PINNED:
            return None
        try:
            entry = json.loads(_query_entry(name, model_dir).read_text())
            import openvino as ov
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(entry["max_tokens"])
            core = ov.Core()
            compiled = core.compile_model(
                core.read_model(entry["model"]),
                "CPU",
                {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"},
            )
            return cls(name, compiled, tokenizer, entry["dimensions"])
        except Exception as e:  # no entry, a damaged one, a model OpenVINO cannot read: torch encodes
            logger.info("no compiled query encoder for %s: %s", name, e)
            return None

    def encode_query(self, text: str) -> np.ndarray:
        """One query's unit vector; raises ValueError for an empty query."""
        text = (text or "").strip()
        if not text:
            raise ValueError("empty query")
        with self.lock:
            encoding = self.tokenizer.encode(text)
            inputs = [np.array([encoding.ids]), np.array([encoding.type_ids]), np.array([encoding.attention_mask])]
            vector = self.request.infer(inputs)[0][0].copy()
        return vector / max(float(np.linalg.norm(vector)), 1e-12)


def prepare_query_encoder(model, name: str, model_dir: str | Path) -> bool:
    """Convert ``model`` (cached), check its float32 vectors against torch's, and record it for
    CompiledQueryEncoder.from_cache; False (and nothing recorded) when it does not qualify."""
    if not CXX_RUNTIME_PINNED or not (Path(model_dir) / "tokenizer.json").is_file():
        return False
    input_names, constants = _model_inputs(model)
    if input_names != QUERY_INPUTS:
        return False
    try:
        encoder = OpenVinoEncoder.load(model, name, require_bf16=False, precision="f32")
        if not encoder.source.is_file():  # the cache could not be written
            return False
        agreement = encoder.min_cosine(model)
        if agreement < QUERY_MIN_COSINE:
            logger.info("not compiling queries for %s: cosine %.5f to torch's vectors", name, agreement)
            return False
        entry = {
            "model": str(encoder.source),
            "max_tokens": model.max_seq_length,
            "dimensions": model.get_embedding_dimension(),
        }
        path = _query_entry(name, model_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry))
        tmp.replace(path)
    except Exception as e:  # no openvino, a model the converter cannot trace, a cache that cannot be written
        logger.info("not compiling queries for %s: %s", name, e)
        return False
    return True


# The inputs, in order, that CompiledQueryEncoder feeds (BERT-style models).
QUERY_INPUTS = ["input_ids", "token_type_ids", "attention_mask"]
# Float32 OpenVINO against torch: the same arithmetic, reordered.
QUERY_MIN_COSINE = 0.9999


def _query_entry(name: str, model_dir: str | Path) -> Path:
    """Where the compiled query model of ``model_dir`` is recorded: keyed by its files, not its weights."""
    from importlib.metadata import version

    root = Path(model_dir).resolve()
    files = sorted(
        (str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and (stat := path.stat())
    )
    libraries = {
        lib: version(lib) for lib in ("openvino", "tokenizers", "torch", "transformers", "sentence-transformers")
    }
    key = json.dumps([name, str(root), files, libraries]).encode()
    return cache_dir() / "openvino" / "queries" / f"{hashlib.sha256(key).hexdigest()[:32]}.json"


def _model_inputs(model) -> tuple[list[str], dict]:
    """The tensor inputs ``model.preprocess`` makes, and its other (constant) features."""
    features = model.preprocess(CHECK_TEXTS[:2])
    names = [key for key, value in features.items() if hasattr(value, "numpy")]
    return names, {key: value for key, value in features.items() if key not in names}


def _cached_conversion(model, name: str, input_names: list[str], constants: dict):
    """The OpenVINO model of ``model``'s pipeline, from the cache or converted and cached; and its
    model.xml in the cache."""
    import openvino as ov

    target = cache_dir() / "openvino" / _digest(model, name, input_names, constants)
    if (target / "model.xml").is_file():
        try:
            return ov.Core().read_model(target / "model.xml"), target / "model.xml"
        except RuntimeError as e:  # a damaged cache entry: convert again
            logger.warning("ignoring the cached OpenVINO model in %s: %s", target, e)
    ov_model = _convert(model, input_names, constants)
    _save(ov_model, target)
    return ov_model, target / "model.xml"


def _cached_quantisation(model, name: str, input_names: list[str], constants: dict, ov_model):
    """``ov_model`` quantised to int8 (NNCF, calibrated on CALIBRATION), from the cache or made and
    cached; and its model.xml in the cache."""
    from importlib.metadata import version

    import openvino as ov

    try:
        import nncf
    except ImportError:
        raise FastPathUnavailable("int8 needs NNCF: pip install 'math-ml-kb[int8]'") from None
    texts = calibration_texts()
    key = [_digest(model, name, input_names, constants), version("nncf"), INT8_KEPT, texts]
    target = cache_dir() / "openvino" / f"int8-{hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]}"
    if (target / "model.xml").is_file():
        try:
            return ov.Core().read_model(target / "model.xml"), target / "model.xml"
        except RuntimeError as e:
            logger.warning("ignoring the cached int8 model in %s: %s", target, e)
    features = model.preprocess(texts)
    samples = []
    for row in range(len(texts)):  # one text a sample, without padding, as most texts are encoded
        used = features["attention_mask"][row].bool()
        samples.append([features[name][row][used].numpy()[None, :] for name in input_names])
    nncf.set_log_level(logging.ERROR)
    quantised = nncf.quantize(
        ov_model.clone(),
        nncf.Dataset(samples),
        model_type=nncf.ModelType.TRANSFORMER,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(samples),
        ignored_scope=nncf.IgnoredScope(patterns=INT8_KEPT, validate=False),
    )
    _save(quantised, target)
    return quantised, target / "model.xml"


def calibration_texts() -> list[str]:
    lines = CALIBRATION.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def cache_dir() -> Path:
    """$KB_CACHE_DIR, else $XDG_CACHE_HOME/kb, else ~/.cache/kb."""
    if os.environ.get("KB_CACHE_DIR"):
        return Path(os.environ["KB_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"


def _digest(model, name: str, input_names: list[str], constants: dict) -> str:
    """What the conversion depends on: weights, pipeline configuration, inputs and library versions."""
    from importlib.metadata import version

    import torch

    digest = hashlib.sha256()
    libraries = {lib: version(lib) for lib in ("openvino", "torch", "transformers", "sentence-transformers")}
    digest.update(json.dumps([name, repr(model), input_names, repr(constants), libraries]).encode())
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:32]


def _convert(model, input_names: list[str], constants: dict):
    """Trace the whole pipeline (tensors in, ``sentence_embedding`` out) into an OpenVINO model.

    The example batch holds texts of different lengths, so the trace keeps
    the attention-mask path that padding needs.
    """
    import openvino as ov
    import torch
    from transformers.utils import logging as transformers_logging

    class Pipeline(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model({**constants, **dict(zip(input_names, tensors))})["sentence_embedding"]

    features = model.preprocess(CHECK_TEXTS[:2])
    example = tuple(features[name] for name in input_names)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # tracing reads config attributes that warn
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
            return ov.convert_model(Pipeline().eval(), example_input=example)
    finally:
        transformers_logging.set_verbosity(verbosity)


def _save(ov_model, target: Path) -> None:
    """Write the model into ``target`` atomically: a finished directory renamed into place.

    Two processes converting at once both write; the second rename fails and
    its copy is dropped. A cache that cannot be written only costs the next
    process another conversion.
    """
    import openvino as ov

    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        ov.save_model(ov_model, tmp / "model.xml", compress_to_fp16=False)
        os.replace(tmp, target)
    except (OSError, RuntimeError) as e:
        if not (target / "model.xml").is_file():  # else another process saved it first
            logger.info("not caching the OpenVINO model in %s: %s", target, e)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
