import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from kb.demo import SampleSite
from kb.web.serve import make_datasette

ROOT = Path(__file__).resolve().parent.parent


def run_kb(
    *args: str, timeout: float = 120, env: dict | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run the real `kb` command line in a child process (Scrapy's reactor runs once per process).

    ``env`` adds environment variables to this process's own; ``input`` is its standard input.
    """
    return subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def crawl(sources_yaml: str, db: Path, tmp_path: Path, *extra: str, embed: bool = False) -> subprocess.CompletedProcess:
    """`kb crawl` a sources file; embedding is off unless asked for (it loads the model)."""
    sources = tmp_path / f"sources-{len(list(tmp_path.glob('sources-*.yml')))}.yml"
    sources.write_text(sources_yaml, encoding="utf-8")
    return run_kb("crawl", "--sources", sources, "--db", db, *extra, *([] if embed else ["--no-embed"]))


def sorted_rows(path, queries: dict[str, str]) -> dict[str, list]:
    """Each query's rows, sorted: tables compared whatever order their rows were written in."""
    db = sqlite_utils.Database(path)
    return {name: sorted(tuple(row) for row in db.execute(sql).fetchall()) for name, sql in queries.items()}


def datasette_get(ds, path: str):
    """GET through Datasette's own ASGI client (startup hooks run first)."""

    async def fetch():
        await ds.invoke_startup()
        return await ds.client.get(path)

    return asyncio.run(fetch())


@pytest.fixture(scope="session")
def sample_site():
    with SampleSite() as site:
        yield site


@pytest.fixture(scope="session")
def crawled_db(sample_site, tmp_path_factory) -> Path:
    """The sample site crawled (and embedded) once with the real crawler; tests only read it."""
    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "kb.db"
    result = crawl(sample_site.sources_yaml(), db, tmp, embed=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return db


@pytest.fixture
def db_copy(crawled_db, tmp_path) -> Path:
    """A private copy of the crawled database, for tests that write."""
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    return path


@pytest.fixture(scope="session")
def embedder():
    """The embedding model, loaded once for the whole test session."""
    from embeddings.model import get_embedder

    return get_embedder()


@pytest.fixture
def db(crawled_db) -> sqlite_utils.Database:
    return sqlite_utils.Database(crawled_db)


@pytest.fixture
def datasette(crawled_db):
    return make_datasette(crawled_db)
