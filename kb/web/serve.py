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

import h11
import uvicorn
from datasette.app import Database, Datasette
from datasette.utils.asgi import AsgiLifespan
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from kb import DATABASE_NAME, PLUGIN_NAME, storage
from kb.metadata import MetadataError, load_metadata
from kb.search.semantic import SearchError, context_weight
from kb.web import given_project_metadata

# Measured with bench/serving.py (16 clients, 2 cores). Suggested facets cost a
# GROUP BY per column on every table page: /kb/passages.json at 100k passages
# served 3.6 pages/s with them, 84 without. Searches of a million passages
# take 0.2-0.5 s alone and seconds under load: at Datasette's 1 s limit most
# were cut off (400) after using the CPU anyway; at 5 s none were, and four
# times as many were answered.
# Table and query pages cut a cell's text at 300 characters (row pages show it whole).
SETTINGS = {"suggest_facets": False, "sql_time_limit_ms": 5000, "truncate_cells_html": 300}
# `kb serve --public`: no SQL of the visitor's own, no download of every row at
# once; kb/web/guard.py adds the rest (limits, hidden information pages).
PUBLIC_SETTINGS = {**SETTINGS, "default_allow_sql": False, "allow_csv_stream": False, "allow_download": False}
# A client has this long to send a request's headers, and a connection may stay
# idle this long between requests, so slow or silent clients cannot hold
# connections open (uvicorn itself waits for headers forever).
HEADER_TIMEOUT_S = 10
KEEP_ALIVE_TIMEOUT_S = 5
WORKERS_ENV = "KB_SERVE_WORKERS"
# How serve() tells the worker processes what to serve (uvicorn starts them by import name).
_DB_ENV, _METADATA_ENV, _PUBLIC_ENV = "KB_SERVE_DB", "KB_SERVE_METADATA", "KB_SERVE_PUBLIC"


class ServeError(Exception):
    pass


def make_datasette(db_path: str | Path, metadata_path: str | Path | None = None, public: bool = False) -> Datasette:
    """A Datasette instance serving ``db_path`` as ``kb`` with the project's metadata.

    ``public``: the settings for publishing (see PUBLIC_SETTINGS and kb/web/guard.py).
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ServeError(f"{db_path}: database not found (run `kb crawl` or `kb demo` first)")
    try:
        storage.check_knowledge_base(db_path)
    except storage.StorageError as e:
        raise ServeError(str(e)) from None
    try:
        metadata = load_metadata(metadata_path)
    except MetadataError as e:
        raise ServeError(str(e)) from None
    plugins = metadata.setdefault("plugins", {})  # plugins: kb: marks the knowledge base's Datasette
    plugins[PLUGIN_NAME] = {**(plugins.get(PLUGIN_NAME) or {}), "public": public}
    ds = Datasette([], metadata=metadata, settings=PUBLIC_SETTINGS if public else SETTINGS)
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(db_path), is_mutable=True), name=DATABASE_NAME)
    if metadata_path is None:
        given_project_metadata(ds)
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


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    metadata_path: str | Path | None = None,
    public: bool = False,
) -> None:
    """Serve until interrupted, in workers() processes; ``public`` for publishing (kb/web/guard.py)."""
    count = workers()
    try:
        context_weight()  # a mistake in $KB_CONTEXT_WEIGHT stops the start, not every search
    except SearchError as e:
        raise ServeError(str(e)) from None
    asyncio.run(_check(make_datasette(db_path, metadata_path, public)))
    os.environ[_DB_ENV] = str(Path(db_path).resolve())
    os.environ[_METADATA_ENV] = str(Path(metadata_path).resolve()) if metadata_path else ""
    os.environ[_PUBLIC_ENV] = "1" if public else ""
    config = uvicorn.Config(
        "kb.web.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=count,
        log_level="warning",
        lifespan="on",
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,
    )
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


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request headers take
    longer than HEADER_TIMEOUT_S to arrive, however slowly they trickle in."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE and self._header_deadline is not None:
            self._header_deadline.cancel()  # a request's headers are in
            self._header_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._header_deadline is None and not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_too_slow)

    def connection_lost(self, exc) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def worker_app():
    """The ASGI app of one server process; the model and the index load before it takes requests."""
    ds = make_datasette(os.environ[_DB_ENV], os.environ[_METADATA_ENV] or None, bool(os.environ.get(_PUBLIC_ENV)))
    return AsgiLifespan(ds.app(), on_startup=[partial(_startup, ds)])
