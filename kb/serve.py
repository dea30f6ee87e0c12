"""Publish a knowledge base with Datasette.

The database is always served under the name ``kb`` whatever its file is
called, so the JSON API's URLs (``/kb/documents.json``, ``/kb/search.json``)
are the same for every user.
"""

from __future__ import annotations

from pathlib import Path

import uvicorn
import yaml
from datasette.app import Database, Datasette

from . import DATABASE_NAME
DEFAULT_METADATA = Path(__file__).resolve().parent.parent / "metadata.yml"


class ServeError(Exception):
    pass


def load_metadata(path: str | Path | None = None) -> dict:
    path = Path(path) if path else DEFAULT_METADATA
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServeError(f"{path}: metadata file not found (pass --metadata)") from None
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise ServeError(f"{path}:{line}: not valid YAML: {e.problem}") from None
    if not isinstance(data, dict):
        raise ServeError(f"{path}:1: expected a mapping of Datasette metadata")
    return data


def make_datasette(db_path: str | Path, metadata_path: str | Path | None = None) -> Datasette:
    """A Datasette instance serving ``db_path`` as ``kb`` with the project's metadata."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ServeError(f"{db_path}: database not found (run `kb crawl` or `kb demo` first)")
    ds = Datasette([], metadata=load_metadata(metadata_path))
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(db_path), is_mutable=True), name=DATABASE_NAME)
    return ds


async def _startup(ds: Datasette) -> None:
    await ds.invoke_startup()
    await ds.get_database(DATABASE_NAME).execute("select count(*) from documents")


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001,
          metadata_path: str | Path | None = None) -> None:
    """Serve until interrupted."""
    import asyncio

    ds = make_datasette(db_path, metadata_path)
    asyncio.run(_startup(ds))
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
