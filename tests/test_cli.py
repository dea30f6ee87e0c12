"""The `kb` command line end to end: demo and serve as a user runs them."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import sqlite_utils
import uvicorn

from bench.common import free_port
from kb.web.serve import listening_socket

from .conftest import ROOT, run_kb


def wait_for_json(url: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_demo_builds_the_sample_knowledge_base(tmp_path):
    db_path = tmp_path / "demo.db"
    db_path.write_text("stale demo")  # the demo replaces its own database
    result = run_kb("demo", "--no-serve", "--db", db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 new" in result.stderr
    db = sqlite_utils.Database(db_path)
    assert db["documents"].count == 5
    assert (tmp_path / "demo-sources.yml").read_text().startswith("# Sources for the sample site")


def test_serve_answers_the_json_api(crawled_db):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--db", str(crawled_db), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        rows = wait_for_json(f"http://127.0.0.1:{port}/kb/search.json?q=calculus&_shape=array")
        assert rows and all({"title", "url", "snippet", "score"} <= set(r) for r in rows)
        tables = wait_for_json(f"http://127.0.0.1:{port}/kb.json")["tables"]
        assert "documents" in {t["name"] for t in tables}
    finally:
        server.terminate()
        server.wait(timeout=10)
    # Its worker processes went with it: nothing answers on the port any more.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_serve_turns_nagle_off_for_keep_alive_clients():
    config = uvicorn.Config(app=None, host="127.0.0.1", port=0)
    with listening_socket(config) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_serve_rejects_a_bad_worker_count(crawled_db):
    result = run_kb("serve", "--db", crawled_db, "--port", str(free_port()), env={"KB_SERVE_WORKERS": "two"})
    assert result.returncode == 2
    assert "KB_SERVE_WORKERS must be a whole number" in result.stderr


def test_serve_missing_database_exits_2(tmp_path):
    result = run_kb("serve", "--db", tmp_path / "missing.db")
    assert result.returncode == 2
    assert "database not found" in result.stderr
