"""The Python API (kb/api.py), as a script uses it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from kb import KbError, KnowledgeBase, schema, storage

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def kb(crawled_db, tmp_path) -> KnowledgeBase:
    path = tmp_path / "kb.db"
    shutil.copy(crawled_db, path)
    return KnowledgeBase(path)


def test_search_returns_hits_and_keeps_its_search_objects(kb):
    hits = kb.search("do I need calculus to train neural networks?", mode="hybrid", limit=3)
    assert 0 < len(hits) <= 3 and hits[0].score >= hits[-1].score
    assert hits[0].url.startswith("http://127.0.0.1:") and isinstance(hits[0].also_published_at, list)
    assert {"keyword_rank", "semantic_rank"} <= set(hits[0].extra)
    searcher = kb._searcher
    keyword = kb.search("linear algebra", mode="keyword")
    assert kb._searcher is searcher and "**" in keyword[0].snippet  # built once, reused


def test_people_and_their_statements(kb):
    people = {person.name: person for person in kb.people()}
    assert people["Andrew Ng"].verified and "Ng" in people["Andrew Ng"].aliases
    said = kb.statements(person="Andrew Ng")
    assert said and all(s.person == "Andrew Ng" for s in said)
    dates = [s.published for s in said if s.published]
    assert dates == sorted(dates)
    assert kb.statements(person=people["Andrew Ng"].id) == said
    assert all(s.stance == said[0].stance for s in kb.statements(person="Andrew Ng", stance=said[0].stance))


def test_a_database_in_memory_serves_the_reading_methods():
    db = sqlite_utils.Database(memory=True)
    storage.load_sqlite_vec(db.conn)
    schema.apply(db)
    db["people"].insert({"name": "Ada Example", "aliases": "[]", "verified": 1})
    kb = KnowledgeBase(db)
    assert [p.name for p in kb.people()] == ["Ada Example"] and kb.statements() == []
    with pytest.raises(KbError, match="needs a database file"):
        kb.search("anything")


def test_mistakes_raise_kb_errors_and_touch_nothing(tmp_path):
    with pytest.raises(KbError, match="database not found"):
        KnowledgeBase(tmp_path / "missing.db").search("calculus")
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    with pytest.raises(KbError, match="not a usable SQLite database"):
        KnowledgeBase(text).people()
    assert text.read_text() == "not a database"
    with pytest.raises(KbError, match="empty query"):
        KnowledgeBase(text).search("  ")


def test_crawl_from_python(sample_site, tmp_path):
    """A crawl runs Scrapy's reactor, once per process: a script of its own."""
    sources = tmp_path / "sources.yml"
    sources.write_text(sample_site.sources_yaml(), encoding="utf-8")
    script = (
        "import json, sys\n"
        "from kb import KnowledgeBase\n"
        "report = KnowledgeBase(sys.argv[1]).crawl(sys.argv[2], embed=False, log_level='ERROR', progress=False)\n"
        "print(json.dumps({'complete': report.complete, 'lines': report.lines, 'new': report.run['new']}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, tmp_path / "kb.db", sources],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["complete"] and report["new"] == 5 and report["lines"][0].startswith("crawl run 1 completed")
