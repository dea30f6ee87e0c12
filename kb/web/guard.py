"""What keeps a served knowledge base responsive, and tight-lipped, whoever visits.

Wired in by the Datasette plugin (kb/web/__init__.py) through documented hooks:

- ``limit_length()``: every served SQLite connection refuses strings and
  blobs over LENGTH_LIMIT bytes (SQLITE_LIMIT_LENGTH), so no query can build
  a gigabyte value in a worker.
- ``Guard``: ASGI middleware around Datasette (the ``asgi_wrapper`` hook).
  In every mode it adds the security headers to each response and answers a
  malformed parameter that the project's queries read with a 400 and a
  one-line message. In public mode (``kb serve --public``) it also hides the
  information pages that show the database's path or the server's threads,
  and bounds the requests whose SQL the visitor shapes (table pages with
  filters, sorts or facets; canned queries through the JSON API): at most
  CALLER_SQL_SLOTS run at once in a process, leaving a SQL thread for the
  cheap pages; table pages run under PUBLIC_TIME_LIMIT_MS; a request that
  waits longer than GATE_WAIT_S for a slot, or finds MAX_WAITING already
  waiting, is turned away with 503 and Retry-After.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import datasette

from kb import DATABASE_NAME
from kb.search import sqlfunctions

LENGTH_LIMIT = 10 * 2**20  # bytes; the crawler stores no page larger (DOWNLOAD_MAXSIZE)
PUBLIC_TIME_LIMIT_MS = 1000
CALLER_SQL_SLOTS = 2  # of Datasette's 3 SQL threads per process
MAX_WAITING = 8
GATE_WAIT_S = 3.0
RETRY_AFTER_S = 2
# Information pages a public instance answers; the others show the database's
# path (/-/databases), the server's threads (/-/threads) or debugging tools.
PUBLIC_INFO_PAGES = frozenset({"static", "static-plugins", "metadata", "versions", "settings", "plugins"})
_SQLITE_LIMIT_LENGTH = 0


def limit_length(conn, max_bytes: int = LENGTH_LIMIT) -> None:
    """Make ``conn`` refuse any string or blob longer than ``max_bytes`` (SQLITE_LIMIT_LENGTH)."""
    if hasattr(conn, "setlimit"):  # Python's own sqlite3, 3.11 and later
        conn.setlimit(_SQLITE_LIMIT_LENGTH, max_bytes)
        return
    # pysqlite3 (which Datasette uses when installed) has no setlimit(); its
    # extension exports SQLite's C API, and its connection object holds the
    # sqlite3* handle right after the Python object header, as CPython's
    # sqlite3 module always has.
    import pysqlite3._sqlite3 as module

    library = ctypes.CDLL(module.__file__)
    library.sqlite3_limit.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    library.sqlite3_limit.restype = ctypes.c_int
    handle = ctypes.c_void_p.from_address(id(conn) + object.__basicsize__).value
    if handle:
        library.sqlite3_limit(handle, _SQLITE_LIMIT_LENGTH, max_bytes)


def _inline_script_hashes() -> list[str]:
    """CSP hashes of the inline scripts Datasette's own templates write (menus, SQL editor, table facets)."""
    templates = Path(datasette.__file__).parent / "templates"
    scripts = []
    for name in ("_close_open_menus.html", "_codemirror_foot.html"):
        text = (templates / name).read_text(encoding="utf-8")
        scripts += re.findall(r"<script>(.*?)</script>", text, re.DOTALL)
    scripts += [f"DATASETTE_ALLOW_FACET = {value};" for value in ("true", "false")]
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts]


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' " + " ".join(_inline_script_hashes()),
        "style-src 'self' 'unsafe-inline'",  # Datasette's templates style elements inline
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # a search's URL holds the query: keep it from the sites linked
]


def parameter_problem(params: dict[str, str]) -> str | None:
    """What is wrong with a parameter the project's queries read, or None."""
    if "min_relevance" in params:
        try:
            sqlfunctions.min_relevance(params["min_relevance"])
        except ValueError as e:
            return str(e)
    if "_timelimit" in params and not params["_timelimit"].strip().isdigit():
        return f"_timelimit must be a whole number of milliseconds, not {params['_timelimit'][:40]!r}"
    return None


class Guard:
    """ASGI middleware: security headers, parameter checks and, in public mode, the limits above."""

    def __init__(self, app, public: bool = False, canned_queries: dict[str, dict] | None = None, base_url: str = "/"):
        self.app = app
        self.public = public
        self.canned_queries = canned_queries or {}
        self.base_url = base_url
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_headers(send)
        path = scope["path"]
        if self.base_url != "/" and path.startswith(self.base_url):  # routed as Datasette routes it
            path = "/" + path[len(self.base_url) :]
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params: dict[str, str] = {}
        for name, value in pairs:
            params.setdefault(name, value)  # Datasette reads a repeated parameter's first value
        if self.public and _hidden_info_page(path):
            return await _respond(send, path, 404, "Not found")
        problem = parameter_problem(params)
        if problem:
            return await _respond(send, path, 400, problem)
        if scope["method"] == "POST" and self._canned_query(path).get("write") is False:
            # Datasette 0.65 answers a POST to a read-only canned query with a 500
            return await _respond(send, path, 405, "this query only reads: use GET", [(b"allow", b"GET")])
        if not (self.public and params and _database_page(path)):
            return await self.app(scope, receive, send)
        if not self._canned_query(path):
            scope = _with_time_limit(scope, pairs)
        await self._gated(scope, receive, send)

    def _canned_query(self, path: str) -> dict:
        """The canned query ``path`` runs ({} for none), with ``write`` always set."""
        if not path.startswith(f"/{DATABASE_NAME}/"):
            return {}
        name = path.removeprefix(f"/{DATABASE_NAME}/").split(".")[0]
        query = self.canned_queries.get(name) if "/" not in name else None
        return {**query, "write": bool(query.get("write"))} if isinstance(query, dict) else {}

    async def _gated(self, scope, receive, send) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(CALLER_SQL_SLOTS)
        if self._slots.locked():  # no slot free: wait in line, if the line is not full
            if self._waiting >= MAX_WAITING:
                return await _busy(send, scope["path"])
            self._waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), GATE_WAIT_S)
            except TimeoutError:
                return await _busy(send, scope["path"])
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


def _hidden_info_page(path: str) -> bool:
    parts = path.split("/")
    return len(parts) > 2 and parts[1] == "-" and parts[2].split(".")[0] not in PUBLIC_INFO_PAGES


def _database_page(path: str) -> bool:
    """A page of Datasette's under the database (table, row, query, canned query), not the research UI."""
    return path == f"/{DATABASE_NAME}" or path.startswith((f"/{DATABASE_NAME}/", f"/{DATABASE_NAME}."))


def _with_time_limit(scope: dict, pairs: list[tuple[str, str]]) -> dict:
    given = [int(value) for name, value in pairs if name == "_timelimit" and value.strip().isdigit()]
    limit = max(1, min([*given[:1], PUBLIC_TIME_LIMIT_MS]))  # Datasette reads 0 as "no limit of your own"
    query = urlencode([*((n, v) for n, v in pairs if n != "_timelimit"), ("_timelimit", str(limit))])
    return {**scope, "query_string": query.encode("latin-1")}


def _with_headers(send):
    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            extra = [header for header in SECURITY_HEADERS if header[0] not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


async def _respond(send, path: str, status: int, message: str, headers: list | None = None) -> None:
    if path.endswith(".json"):
        body = json.dumps({"ok": False, "error": message, "status": status}).encode()
        content_type = b"application/json; charset=utf-8"
    else:
        body = f"{status}: {message}\n".encode()
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _busy(send, path: str) -> None:
    await _respond(
        send,
        path,
        503,
        "busy with other queries; try again in a moment",
        [(b"retry-after", str(RETRY_AFTER_S).encode())],
    )
