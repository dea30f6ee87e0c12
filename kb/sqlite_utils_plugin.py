"""kb's sqlite-utils plugin, registered through the ``sqlite_utils`` entry point.

A knowledge base holds a vec0 virtual table (vec_passages, sqlite-vec), which
SQLite can read only with sqlite-vec loaded: without it `sqlite-utils tables
kb.db --counts` fails with "no such module: vec0". This loads sqlite-vec into
every connection sqlite-utils opens on a file that has a vec0 table, and
leaves every other database alone.
"""

from __future__ import annotations

from sqlite_utils import hookimpl

from kb import storage

_HAS_VEC0 = "select 1 from sqlite_master where type = 'table' and sql like '%using vec0%' limit 1"


@hookimpl
def prepare_connection(conn) -> None:
    try:
        needed = conn.execute(_HAS_VEC0).fetchone() is not None
    except Exception:  # not a database, or locked: sqlite-utils reports that itself
        return
    if needed:
        storage.load_sqlite_vec(conn)
