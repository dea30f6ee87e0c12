import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from kb.demo import SampleSite
from kb.serve import make_datasette

ROOT = Path(__file__).resolve().parent.parent


def run_kb(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `kb` command line in a child process (Scrapy's reactor runs once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def crawl(sources_yaml: str, db: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    sources = tmp_path / f"sources-{len(list(tmp_path.glob('sources-*.yml')))}.yml"
    sources.write_text(sources_yaml, encoding="utf-8")
    return run_kb("crawl", "--sources", sources, "--db", db, *extra)


@pytest.fixture(scope="session")
def sample_site():
    with SampleSite() as site:
        yield site


@pytest.fixture(scope="session")
def crawled_db(sample_site, tmp_path_factory) -> Path:
    """The sample site crawled once with the real crawler; tests only read it."""
    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "kb.db"
    result = crawl(sample_site.sources_yaml(), db, tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    return db


@pytest.fixture
def db(crawled_db) -> sqlite_utils.Database:
    return sqlite_utils.Database(crawled_db)


@pytest.fixture
def datasette(crawled_db):
    return make_datasette(crawled_db)
