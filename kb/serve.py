"""Publish a knowledge base with Datasette.

The database is always served under the name ``kb`` whatever its file is
called, so the JSON API's URLs (``/kb/documents.json``, ``/kb/search.json``)
are the same for every user.
"""

from __future__ import annotations

import asyncio
import os
import socket
from functools import partial
from pathlib import Path

import uvicorn
import yaml
from datasette.app import Database, Datasette
from datasette.utils.asgi import AsgiLifespan
from uvicorn.supervisors import Multiprocess

from embeddings.search import SearchError, context_weight

from . import DATABASE_NAME
DEFAULT_METADATA = Path(__file__).resolve().parent.parent / "metadata.yml"
TEMPLATES = Path(__file__).resolve().parent / "templates"  # the research UI's pages (kb/ui.py)
# Measured with bench/serving.py (16 clients, 2 cores). Suggested facets cost a
# GROUP BY per column on every table page: /kb/passages.json at 100k passages
# served 3.6 pages/s with them, 84 without. Searches of a million passages
# take 0.2-0.5 s alone and seconds under load: at Datasette's 1 s limit most
# were cut off (400) after using the CPU anyway; at 5 s none were, and four
# times as many were answered.
SETTINGS = {"suggest_facets": False, "sql_time_limit_ms": 5000}
WORKERS_ENV = "KB_SERVE_WORKERS"
# How serve() tells the worker processes what to serve (uvicorn starts them by import name).
_DB_ENV, _METADATA_ENV = "KB_SERVE_DB", "KB_SERVE_METADATA"


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
    ds = Datasette([], metadata=load_metadata(metadata_path), settings=SETTINGS, template_dir=str(TEMPLATES))
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(db_path), is_mutable=True), name=DATABASE_NAME)
    return ds


async def _check(ds: Datasette) -> None:
    """Fail now, once, if the file is not a knowledge base (rather than in every worker)."""
    await ds.get_database(DATABASE_NAME).execute("select count(*) from documents")


async def _startup(ds: Datasette) -> None:
    await ds.invoke_startup()
    await _check(ds)


def workers() -> int:
    """$KB_SERVE_WORKERS, else 2 (1 on a single core).

    Datasette builds every page in Python, so one process uses one core
    whatever its SQL thread pool; a second process nearly doubles the pages
    served per second (bench/serving.py). Each process loads its own model
    and vector index, so more of them cost memory.
    """
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return min(2, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ServeError(f"{WORKERS_ENV} must be a whole number of processes (1 or more), not '{value}'")
    return int(value)


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001,
          metadata_path: str | Path | None = None) -> None:
    """Serve until interrupted, in workers() processes."""
    count = workers()
    try:
        context_weight()  # a mistake in $KB_CONTEXT_WEIGHT stops the start, not every search
    except SearchError as e:
        raise ServeError(str(e)) from None
    asyncio.run(_check(make_datasette(db_path, metadata_path)))
    os.environ[_DB_ENV] = str(Path(db_path).resolve())
    os.environ[_METADATA_ENV] = str(Path(metadata_path).resolve()) if metadata_path else ""
    config = uvicorn.Config("kb.serve:worker_app", factory=True, host=host, port=port, workers=count,
                            log_level="warning", lifespan="on")
    sock = listening_socket(config)
    try:
        if count > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The bound socket every worker accepts connections on, Nagle's algorithm off.

    uvicorn's own socket has protocol 0, so asyncio does not turn Nagle off
    on the connections it accepts: a keep-alive client then waits out its
    delayed ACK, 40 ms a request (bench/search_api.py saw `select 1` take
    44 ms with two workers, 2 ms with this). Linux passes the listening
    socket's TCP_NODELAY on to every accepted connection.
    """
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def worker_app():
    """The ASGI app of one server process; the model and the index load before it takes requests."""
    ds = make_datasette(os.environ[_DB_ENV], os.environ[_METADATA_ENV] or None)
    return AsgiLifespan(ds.app(), on_startup=[partial(_startup, ds)])
