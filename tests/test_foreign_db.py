"""A file that is not this project's database is refused before anything writes to it.

Every command that opens the database (`kb crawl`, `kb serve`, `kb analyze`,
`kb embed`, `kb search`) exits 2 with a one-line error, and the file keeps
its bytes: no WAL switch, no migration, no -wal, -shm or lock file beside it.
"""

import hashlib
import sqlite3

import pytest

from bench.common import free_port
from kb import storage

from .conftest import run_kb
from .sites import RoutedSite, html_page

COMMANDS = {
    "crawl": ("crawl", "--no-embed"),
    "serve": ("serve", "--port"),
    "analyze": ("analyze",),
    "embed": ("embed",),
    "search": ("search", "calculus", "--mode", "keyword"),
}


def other_apps_database(path, journal_mode: str = "delete") -> None:
    """Another application's SQLite file: its own tables and rows."""
    conn = sqlite3.connect(path)
    conn.execute(f"pragma journal_mode = {journal_mode}")
    conn.execute("create table customers (id integer primary key, name text)")
    conn.execute("create table orders (id integer primary key, customer_id integer, total real)")
    conn.executemany("insert into customers (name) values (?)", [("Ada",), ("Bo",)])
    conn.execute("insert into orders (customer_id, total) values (1, 9.5)")
    conn.commit()
    conn.close()


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site():
    with RoutedSite({"/": html_page("Home", "Linear algebra first.")}) as site:
        yield site


@pytest.mark.parametrize("content", ["sqlite", "text"])
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_foreign_file_untouched(command, content, site, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "other.db"
    if content == "sqlite":
        other_apps_database(path)
    else:
        path.write_text("name,total\nAda,9.5\n")
    before = sha256(path)
    args = list(COMMANDS[command])
    if command == "crawl":
        sources = tmp_path / "sources.yml"
        sources.write_text(f"sources:\n  - name: site\n    start_urls: ['{site.base_url}/']\n")
        args += ["--sources", sources]
    if command == "serve":
        # Were it to start, the timeout below would fail the test.
        args.append(free_port())
    result = run_kb(*args, "--db", path, timeout=60)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    if content == "sqlite":
        assert line == (
            f"Error: {path}: not a knowledge base (a SQLite database of something else, "
            "with tables customers, orders); nothing was written to it"
        )
    else:
        assert line == (f"Error: {path}: not a usable SQLite database (not a SQLite file); nothing was written to it")
    assert "Traceback" not in result.stderr
    assert sha256(path) == before
    assert [p.name for p in folder.iterdir()] == ["other.db"]  # no -wal, -shm or .lock
    assert "/" not in site.requests


def test_a_foreign_database_in_wal_mode_is_read_without_leaving_files(tmp_path):
    path = tmp_path / "other.db"
    other_apps_database(path, journal_mode="wal")
    before = sha256(path)
    with pytest.raises(storage.ForeignDatabaseError, match="tables customers, orders"):
        storage.open_db(path)
    assert sha256(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]


def test_a_new_empty_or_own_database_is_accepted(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    storage.check_knowledge_base(empty)
    storage.check_knowledge_base(tmp_path / "missing.db")
    own = tmp_path / "kb.db"
    storage.open_db(own).close()
    reader = storage.connect(own)  # a server holding it open, its -wal beside it
    reader.execute("select count(*) from documents").fetchone()
    storage.check_knowledge_base(own)
    reader.close()
    storage.check_knowledge_base(own)
    assert "documents" in storage.open_db(own).table_names()


def test_a_table_named_like_the_migrations_table_does_not_make_a_file_ours(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("create table _sqlite_migrations (migration_set text, name text, applied_at text)")
    conn.execute("insert into _sqlite_migrations values ('billing', 'm001_initial', '2024-01-01')")
    conn.commit()
    conn.close()
    with pytest.raises(storage.ForeignDatabaseError, match="not a knowledge base"):
        storage.check_knowledge_base(path)
