"""Chunking, embedding models and the vector index: passages in, vectors and nearest neighbours out."""

# First, before any module here loads usearch: see openvino_backend._pin_cxx_runtime.
from . import openvino_backend  # noqa: F401
