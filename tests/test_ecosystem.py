"""The tools researchers already use, run for real on a knowledge base's SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SQLITE_UTILS = str(Path(sys.executable).with_name("sqlite-utils"))


def sqlite_utils(*args) -> subprocess.CompletedProcess:
    return subprocess.run([SQLITE_UTILS, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def kb_file(crawled_db, tmp_path) -> Path:
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    return path


def test_sqlite_utils_reads_every_table_of_a_knowledge_base(kb_file):
    result = sqlite_utils("tables", kb_file, "--counts")
    assert result.returncode == 0, result.stderr
    counts = {row["table"]: row["count"] for row in json.loads(result.stdout)}
    assert counts["vec_passages"] == counts["passage_vectors"] > 0  # the vec0 table needs sqlite-vec loaded
    rows = sqlite_utils("rows", kb_file, "vec_passages", "--limit", "1", "-c", "passage_id")
    assert rows.returncode == 0 and json.loads(rows.stdout)[0]["passage_id"] > 0, rows.stderr
    found = sqlite_utils("search", kb_file, "passages", "linear algebra", "-c", "id", "--limit", "3")
    assert found.returncode == 0 and len(json.loads(found.stdout)) > 0, found.stderr


def test_sqlite_utils_on_another_database_gets_nothing_of_ours(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table notes (id integer primary key, body text)")
    assert sqlite_utils("tables", other, "--counts").returncode == 0
    result = sqlite_utils("query", other, "select vec_version()")
    assert result.returncode != 0 and "vec_version" in result.stderr + result.stdout


# Datasette: the plugin acts only where a knowledge base is served


def get(ds, path: str):
    import asyncio

    return asyncio.run(ds.client.get(path))


def test_plain_datasette_on_another_database_is_untouched(tmp_path):
    from datasette.app import Datasette

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table notes (id integer primary key, body text)")
    ds = Datasette([str(other)])
    home = get(ds, "/")
    assert home.status_code == 200 and "other" in home.text and "kb-search" not in home.text
    assert get(ds, "/search").status_code == 404
    assert "content-security-policy" not in home.headers
    no_functions = get(ds, "/other.json?sql=select+kb_snippet('a',+'a')")
    assert no_functions.status_code == 400 and "no such function" in no_functions.json()["error"]


def test_plain_datasette_on_kb_db_shows_the_research_ui(kb_file):
    from datasette.app import Datasette

    ds = Datasette([str(kb_file)])  # no metadata, no template directory: the plugin brings both
    home = get(ds, "/")
    assert home.status_code == 200 and "kb-search" in home.text
    hits = get(ds, "/kb/search.json?q=linear+algebra&_shape=array").json()
    assert hits and "**" in hits[0]["snippet"]
    assert get(ds, "/search?q=linear+algebra").status_code == 200


def test_every_link_of_the_ui_honours_base_url(kb_file):
    import re

    from datasette.app import Datasette

    ds = Datasette([str(kb_file)], settings={"base_url": "/research/"})
    person = get(ds, "/kb/people.json?_shape=array&_size=1").json()[0]["id"]
    for path in ("/", "/search?q=math", "/compare", "/charts", f"/people/{person}", "/people/0"):
        page = get(ds, path)  # Datasette's test client puts base_url in front
        links = re.findall(r'(?:href|action|src)="([^"]*)"', page.text)
        assert links, path
        stray = [link for link in links if link.startswith("/") and not link.startswith("/research/")]
        assert stray == [], (path, stray)


# Scrapy: the project's spider through Scrapy's own command line

SCRAPY = str(Path(sys.executable).with_name("scrapy"))
ROOT = Path(__file__).resolve().parent.parent


def scrapy_crawl(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRAPY, "crawl", "articles", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_scrapy_crawl_stores_like_kb_crawl(sample_site, crawled_db, tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text(sample_site.sources_yaml(), encoding="utf-8")
    db = tmp_path / "scrapy.db"
    result = scrapy_crawl("-a", f"sources={sources}", "-s", f"KB_DB={db}", "-s", "LOG_LEVEL=WARNING")
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db) as conn, sqlite3.connect(crawled_db) as expected:
        urls = "select url, content_hash from documents order by url"
        assert conn.execute(urls).fetchall() == expected.execute(urls).fetchall()
        run = conn.execute("select status, sources_file from crawl_runs").fetchall()
    assert run == [("completed", str(sources))]


def test_scrapy_crawl_with_a_bad_sources_file_says_so_in_one_line(tmp_path):
    db = tmp_path / "kb.db"
    result = scrapy_crawl("-a", f"sources={tmp_path / 'missing.yml'}", "-s", f"KB_DB={db}")
    assert result.returncode == 2
    assert "missing.yml: sources file not found" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()


# llm: the stored vectors, exported into llm's own tables of the same file

LLM = str(Path(sys.executable).with_name("llm"))


def test_llm_similar_answers_from_the_exported_vectors(kb_file):
    import numpy as np

    from .conftest import run_kb

    exported = run_kb("llm-export", "--db", kb_file)
    assert exported.returncode == 0, exported.stderr
    with sqlite3.connect(kb_file) as conn:
        vectors = {
            pid: np.frombuffer(blob, dtype="<f4")
            for pid, blob in conn.execute("select passage_id, vector from passage_vectors")
        }
    listed = subprocess.run([LLM, "collections", "list", "-d", kb_file, "--json"], capture_output=True, text=True)
    (collection,) = json.loads(listed.stdout)
    assert collection["name"] == "passages" and collection["num_embeddings"] == len(vectors)
    probe = sorted(vectors)[0]
    similar = subprocess.run(
        [LLM, "similar", "passages", str(probe), "-d", kb_file, "-n", "3"], capture_output=True, text=True, timeout=120
    )
    assert similar.returncode == 0, similar.stderr
    found = [int(json.loads(line)["id"]) for line in similar.stdout.splitlines()]
    expected = sorted((pid for pid in vectors if pid != probe), key=lambda pid: -float(vectors[pid] @ vectors[probe]))
    assert found == expected[:3]
    again = run_kb("llm-export", "--db", kb_file)  # replaces the collection, and the file stays a knowledge base
    assert again.returncode == 0 and f"{len(vectors)} passage vectors" in again.stderr
    assert run_kb("search", "calculus", "--db", kb_file, "--mode", "keyword").returncode == 0


def test_llm_export_without_vectors_says_what_to_do(kb_file):
    from .conftest import run_kb

    with sqlite3.connect(kb_file) as conn:
        conn.execute("delete from passage_vectors")
    result = run_kb("llm-export", "--db", kb_file)
    assert result.returncode == 2 and "run `kb embed` first" in result.stderr and "Traceback" not in result.stderr
