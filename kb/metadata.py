"""metadata.yml: Datasette's metadata for the knowledge base, canned queries included.

Read here, without importing Datasette, because `kb search` runs the canned
queries outside it and a shell command should not pay for the web stack.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .defaults import default_file

DEFAULT_METADATA = default_file("metadata.yml")
# libyaml's parser where PyYAML has it: the pure-Python one takes a sixth of a second on this file.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MetadataError(ValueError):
    """metadata.yml is missing or wrong; the message names the file and line."""


def load_metadata(path: str | Path | None = None) -> dict:
    path = Path(path) if path else DEFAULT_METADATA
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError:
        raise MetadataError(f"{path}: metadata file not found (pass --metadata)") from None
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise MetadataError(f"{path}:{line}: not valid YAML: {e.problem}") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path}:1: expected a mapping of Datasette metadata")
    return data
