"""A served knowledge base against a hostile visitor: the real `kb serve`, plain and --public.

Each request a probe of the published site found troublesome (a stalling
snippet, huge values, malformed parameters, unknown routes, POSTs) is sent to
both servers: none may answer 500, take longer than the SQL time limit, or
change a byte of the database; every answer carries the security headers.
The public server also hides its information pages and refuses ad-hoc SQL;
both close a connection whose headers never finish. The public mode's gate
is checked on kb/web/guard.py's middleware around a deliberately slow ASGI app.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import time
from urllib.parse import quote

import httpx
import pytest

from bench.common import KbServer
from kb.web import guard, serve

SQL_TIME_LIMIT_S = serve.SETTINGS["sql_time_limit_ms"] / 1000
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def sql(query: str) -> str:
    return "/kb.json?sql=" + quote(query)


# (method, path): each once troublesome; no mode may answer them with a 500 or stall on them
HOSTILE = [
    ("GET", sql("select length(kb_snippet(replace(hex(zeroblob(12000)), '0', 'a '), 'a'))")),
    ("GET", sql("select length(printf('%.*c', 100000000, 'x'))")),
    ("GET", sql("select length(zeroblob(100000000))")),
    ("GET", sql("with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c")),
    ("GET", sql("select kb_fts_query(replace(hex(zeroblob(500000)), '0', 'w '))")),
    ("GET", "/compare?people=%5C"),
    ("GET", "/compare?people=foo%5C"),
    ("GET", "/compare?people=%00"),
    ("GET", "/people/99999999999999999999999999"),
    ("GET", "/foo/bar/baz/qux"),
    ("GET", "/kb/search.json?q=math&min_relevance=abc"),
    ("GET", "/kb/documents?_timelimit=abc"),
    ("GET", "/search?q=" + "eigenvalue+" * 1000),
    ("GET", "/kb/passages.json?text__contains=e&_sort=text&_facet=text&_timelimit=0"),
    ("POST", "/kb/people/-/insert"),
    ("POST", "/kb/search"),
]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def servers(crawled_db, tmp_path_factory):
    """{"plain": KbServer, "public": KbServer} on one copy of the crawled sample site, started together.

    Each is also handed a slow client at once: a connection that sends half a
    request's headers and nothing more (test_slow_clients_are_cut_off).
    """
    db = tmp_path_factory.mktemp("publish") / "kb.db"
    shutil.copy(crawled_db, db)
    started = {"plain": KbServer(db, ready_path="/"), "public": KbServer(db, ready_path="/", options=("--public",))}
    for server in started.values():
        server.start(env={**os.environ, "KB_SERVE_WORKERS": "1"})
    try:
        for server in started.values():
            server.wait_until_ready()
            host, port = server.url.removeprefix("http://").split(":")
            server.slow_client = socket.create_connection((host, int(port)))
            server.slow_client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            server.slow_client_since = time.monotonic()
        db_hash = sha256(db)
        for server in started.values():
            server.db_hash = db_hash
        yield started
    finally:
        for server in started.values():
            server.__exit__()


@pytest.mark.parametrize("mode", ["plain", "public"])
def test_no_hostile_request_stalls_fails_or_writes(servers, mode):
    server = servers[mode]
    with httpx.Client(base_url=server.url, timeout=SQL_TIME_LIMIT_S + 10) as client:
        for method, path in HOSTILE:
            started = time.monotonic()
            response = client.request(method, path, content=b"q=x" if method == "POST" else None)
            took = time.monotonic() - started
            assert response.status_code < 500, (path, response.status_code, response.text[:300])
            assert took < SQL_TIME_LIMIT_S + 1.5, (path, took)
            for header in SECURITY_HEADERS:
                assert header in response.headers, (path, header)
        assert client.get("/kb/search.json?q=math&min_relevance=abc").json()["error"] == (
            "min_relevance must be a number from 0 to 1, not 'abc'"
        )
        assert client.post("/kb/search", content=b"q=x").status_code == 405
        assert client.get("/people/99999999999999999999999999").status_code == 404
        assert client.get("/foo/bar/baz/qux").status_code == 404
    assert sha256(server.db_path) == server.db_hash
    assert "Traceback" not in server.output()


def test_values_are_capped_and_snippets_stay_linear(servers):
    with httpx.Client(base_url=servers["plain"].url, timeout=30) as client:
        huge = client.get(sql("select length(printf('%.*c', 100000000, 'x')) as n")).json()
        assert huge["rows"] == [[None]]  # SQLite refuses to build it
        too_big = client.get(sql("select length(zeroblob(100000000))"))
        assert too_big.status_code == 400 and "too big" in too_big.json()["error"]
        fine = client.get(sql("select length(zeroblob(1000000))")).json()
        assert fine["rows"] == [[1000000]]
        started = time.monotonic()
        snippet = client.get(sql("select kb_snippet(replace(hex(zeroblob(12000)), '0', 'a '), 'a') as s")).json()
        assert time.monotonic() - started < 2
        assert snippet["rows"][0][0].startswith("**a** **a**")


def test_public_mode_hides_paths_threads_and_sql(servers):
    with httpx.Client(base_url=servers["public"].url, timeout=30) as client:
        assert client.get(sql("select 1")).status_code == 403
        assert client.get("/-/databases.json").status_code == 404
        assert client.get("/-/threads").status_code == 404
        assert client.get("/-/versions.json").status_code == 200
        assert str(servers["public"].db_path.parent) not in client.get("/kb.json").text
        for page in ("/", "/search?q=linear+algebra", "/kb/documents", "/compare", "/kb/search.json?q=calculus"):
            assert client.get(page).status_code == 200, page
    with httpx.Client(base_url=servers["plain"].url, timeout=30) as client:  # the local one stays convenient
        assert client.get(sql("select 1")).status_code == 200
        assert client.get("/-/databases.json").status_code == 200


def test_csp_allows_only_this_sites_scripts(servers):
    policy = httpx.get(servers["public"].url + "/", timeout=30).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'self'" in directives["script-src"]


def test_slow_clients_are_cut_off(servers):
    for server in servers.values():
        server.slow_client.settimeout(serve.HEADER_TIMEOUT_S + 10)
        try:
            server.slow_client.sendall(b"X-Still: typing\r\n")
            leftover = server.slow_client.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            leftover = b""
        waited = time.monotonic() - server.slow_client_since
        assert leftover == b"", leftover
        assert waited < serve.HEADER_TIMEOUT_S + 5


# The public mode's gate, on the real middleware around an app that takes its time


class SlowApp:
    """An ASGI app that answers after ``seconds`` and counts how many requests it holds at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.running = self.most_at_once = 0

    async def __call__(self, scope, receive, send):
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(self.seconds)
        self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _get_all(app, paths: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await asyncio.gather(*(client.get(path) for path in paths))


def test_visitor_shaped_sql_waits_its_turn_and_the_overflow_is_turned_away():
    slow = SlowApp(0.3)
    app = guard.Guard(slow, public=True, canned_queries={"search": {"sql": "select 1"}})
    responses = asyncio.run(_get_all(app, ["/kb/passages?_sort=text"] * 14))
    statuses = [r.status_code for r in responses]
    assert slow.most_at_once == guard.CALLER_SQL_SLOTS
    assert statuses.count(200) == guard.CALLER_SQL_SLOTS + guard.MAX_WAITING  # the rest found the queue full
    busy = [r for r in responses if r.status_code == 503]
    assert busy and all(r.headers["retry-after"] == str(guard.RETRY_AFTER_S) for r in busy)


def test_pages_without_visitor_sql_are_not_gated_and_plain_mode_has_no_gate():
    slow = SlowApp(0.2)
    asyncio.run(_get_all(guard.Guard(slow, public=True), ["/", "/search?q=x", "/kb/documents"] * 4))
    assert slow.most_at_once == 12
    slow = SlowApp(0.2)
    asyncio.run(_get_all(guard.Guard(slow, public=False), ["/kb/passages?_sort=text"] * 12))
    assert slow.most_at_once == 12


def test_public_table_pages_get_the_short_time_limit():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = guard.Guard(app, public=True, canned_queries={"search": {"sql": "select 1"}})
    asyncio.run(
        _get_all(
            wrapped,
            [
                "/kb/passages?_facet=a&_facet=b",
                "/kb/passages?_timelimit=0",
                "/kb/passages?_timelimit=200",
                "/kb/search.json?q=x",
            ],
        )
    )
    assert seen == ["_facet=a&_facet=b&_timelimit=1000", "_timelimit=1", "_timelimit=200", "q=x"]


def test_the_public_limits_hold_under_a_base_url():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = guard.Guard(app, public=True, base_url="/research/")
    hidden, table = asyncio.run(_get_all(wrapped, ["/research/-/databases.json", "/research/kb/passages?_sort=text"]))
    assert hidden.status_code == 404 and table.status_code == 200
    assert seen == ["_sort=text&_timelimit=1000"]


@pytest.mark.parametrize(
    "params, problem",
    [
        ({"min_relevance": "2"}, "min_relevance must be a number from 0 to 1, not '2'"),
        ({"min_relevance": "abc"}, "min_relevance must be a number from 0 to 1, not 'abc'"),
        ({"_timelimit": "-5"}, "_timelimit must be a whole number of milliseconds, not '-5'"),
        ({"min_relevance": "0.5", "_timelimit": "100"}, None),
        ({"min_relevance": ""}, None),
    ],
)
def test_parameters_the_queries_read_are_checked_first(params, problem):
    assert guard.parameter_problem(params) == problem
