"""What every benchmark shares: the machine description written next to its figures."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
from pathlib import Path


def machine() -> str:
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0].strip() if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def remove_database(path: Path) -> None:
    """The database and everything kept beside it: -wal, -shm, the lock, the HNSW file, the keyword index."""
    for item in path.parent.glob(path.name + "*"):
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()


def write_results(output: str | Path, key: str, data: dict) -> None:
    """Store one benchmark's figures under ``key`` in the shared results file, keeping the others."""
    import json

    output = Path(output)
    results = json.loads(output.read_text()) if output.exists() else {}
    results[key] = {"machine": machine(), **data}
    output.write_text(json.dumps(results, indent=2) + "\n")


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    import numpy as np

    return round(float(np.percentile(seconds, q)) * 1000, 2)


class KbServer:
    """The real `kb serve` in a child process on a free port, as a context manager.

    Benchmarks go through the server users run (uvicorn, Datasette, the
    plugin), not an in-process app, so HTTP and threading costs are counted.
    ``startup_s`` is the time from launching the process to the first
    answered ``ready_path`` (default: a semantic query, which needs the model
    and the HNSW index loaded).
    """

    def __init__(
        self,
        db_path: str | Path,
        ready_path: str = "/kb/semantic_search.json?q=warm+up&_shape=array",
        timeout: float = 600,
        options: tuple[str, ...] = (),
    ):
        self.db_path = Path(db_path)
        self.options = options  # more `kb serve` options, e.g. ("--public",)
        self.ready_path = ready_path
        self.timeout = timeout
        self.url = ""
        self.startup_s = 0.0

    def __enter__(self) -> "KbServer":
        import time

        started = time.monotonic()
        self.start()
        try:
            self.wait_until_ready()
        except BaseException:
            self.__exit__()
            raise
        self.startup_s = round(time.monotonic() - started, 2)
        return self

    def start(self, env: dict | None = None) -> None:
        """Launch the process (``__enter__`` does, then waits): start several, then wait for each."""
        import subprocess
        import sys
        import tempfile

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kb", "serve", "--db", str(self.db_path), "--port", str(port), *self.options],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        """What the server has printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_until_ready(self) -> None:
        """Poll until the server answers; a refused connection means it is still starting."""
        import time

        import httpx

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"kb serve exited with {self.process.returncode}: {self.log.read()[-2000:]!r}")
            try:
                response = httpx.get(self.url + self.ready_path, timeout=self.timeout)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            response.raise_for_status()
            return
        raise TimeoutError(f"kb serve did not answer within {self.timeout} s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except Exception:
            self.process.kill()
            self.process.wait()
        self.log.close()


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def worktree(commit: str | None):
    """The code of ``commit`` checked out in a temporary git worktree (None: no worktree, yields None),
    removed afterwards: a baseline run in the same benchmark, with the same environment and data."""
    import subprocess
    import tempfile

    if commit is None:
        yield None
        return
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), commit], cwd=root, check=True, capture_output=True
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=root, capture_output=True)


@contextlib.contextmanager
def redis_server(workdir: Path):
    """A real redis-server on a free port of 127.0.0.1 (no persistence, files in ``workdir``),
    answering pings; yields (client, url). Stopped on exit."""
    import shutil
    import subprocess
    import time

    import redis as redis_lib

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server (apt-get install redis-server)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis_lib.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        yield client, f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
