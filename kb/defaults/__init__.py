"""The default configuration files (metadata, people, topics, stances, relevance), shipped
with the package so an installed `kb` finds them. In a checkout each one here is a symlink
to the file of the same name at the top level, which is the one to edit."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def default_file(name: str) -> Path:
    """Where the default ``name`` is (the top-level file in a checkout), for reading and for messages."""
    return Path(str(files(__name__) / name)).resolve()
