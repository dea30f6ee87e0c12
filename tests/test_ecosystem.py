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
    assert counts["vec_passages"] == counts["embeddings"] > 0  # the vec0 table needs sqlite-vec loaded
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
