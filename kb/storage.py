"""Every write to the knowledge base goes through these functions.

Other packages (the crawler, embeddings) call them instead of writing SQL
against kb's tables, so the rules live in one place: one document row per
canonical URL, a document and its passages committed together, and a crawl
run that always ends with an honest status.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import sqlite_vec
from sqlite_utils import Database
from sqlite_utils.utils import sqlite3  # pysqlite3 when installed, like sqlite-utils itself

from . import schema

Outcome = Literal["new", "changed", "unchanged"]

DOCUMENT_FIELDS = ("title", "author", "published", "site_name", "language", "description", "text", "links")


class StorageError(Exception):
    """The database file cannot be opened or is not a knowledge base."""


class LockedError(StorageError):
    """Another process holds the database's writer lock."""


class ForeignDatabaseError(StorageError):
    """The file is not this project's database: nothing may write to it."""


SQLITE_HEADER = b"SQLite format 3\x00"


def check_knowledge_base(path: str | Path) -> None:
    """Raise ForeignDatabaseError unless ``path`` is missing, empty, a SQLite
    database with nothing in it yet, or one that recorded kb's migrations.

    Read only, and before anything opens the file for writing: a refused
    file keeps its bytes, its journal mode, and no -wal/-shm appears beside it.
    """
    path = Path(path)
    if not path.is_file():
        return
    with open(path, "rb") as f:
        header = f.read(100)
    if not header:
        return
    if not header.startswith(SQLITE_HEADER):
        raise ForeignDatabaseError(
            f"{path}: not a usable SQLite database (not a SQLite file); nothing was written to it"
        )
    try:
        tables, ours = _tables_and_ours(path, header)
    except sqlite3.DatabaseError as e:
        raise ForeignDatabaseError(f"{path}: not a usable SQLite database ({e}); nothing was written to it") from None
    if tables and not ours:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise ForeignDatabaseError(
            f"{path}: not a knowledge base (a SQLite database of something else, "
            f"with tables {shown}); nothing was written to it"
        )


def _tables_and_ours(path: Path, header: bytes) -> tuple[list[str], bool]:
    """The file's tables, and whether kb's migrations are recorded in it, read
    without writing anything. A WAL database opened read-only still creates its
    -wal and -shm files unless opened immutable, which is exact when there is
    no -wal file (nothing to replay)."""
    wal_mode = len(header) > 18 and header[18] == 2
    immutable = "&immutable=1" if wal_mode and not Path(f"{path}-wal").exists() else ""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{immutable}", uri=True, timeout=10)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type in ('table', 'view')")]
        if schema.migrations.migrations_table not in tables:
            return tables, False
        try:
            recorded = conn.execute(
                f"select 1 from {schema.migrations.migrations_table} where migration_set = ?", [schema.migrations.name]
            ).fetchone()
        except sqlite3.OperationalError:  # another tool's table of that name
            return tables, False
        return tables, recorded is not None
    finally:
        conn.close()


@contextlib.contextmanager
def writer_lock(db_path: str | Path):
    """Hold ``DB.lock`` for the duration of a crawl, so overlapping runs cannot both write.

    flock is released by the kernel when the process dies, even by SIGKILL:
    a stale lock file never blocks the next run.
    """
    check_knowledge_base(db_path)  # no lock file beside a file this run refuses
    lock_path = Path(f"{db_path}.lock")
    try:
        handle = open(lock_path, "a+")
    except OSError as e:
        raise StorageError(f"{db_path}: cannot create the lock file {lock_path}: {e.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise LockedError(f"{db_path}: another crawl is running (lock {lock_path} held by {holder})") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {now()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def now() -> str:
    """UTC timestamp in the ISO 8601 form used in every table."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path) -> Database:
    """Open (creating if needed) a knowledge base and bring its schema up to date.

    WAL mode lets Datasette read while a crawl writes; the busy timeout lets
    a writer wait for a reader's checkpoint instead of failing.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StorageError(f"{path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise StorageError(f"{path}: is a directory, not a database file")
    check_knowledge_base(path)
    try:
        db = Database(path)
        load_sqlite_vec(db.conn)
        db.execute("PRAGMA busy_timeout = 10000")
        _enable_wal(db)
        # In WAL mode NORMAL never corrupts and loses nothing when the process
        # dies (kill -9); only a power cut can drop the last commits. It saves
        # an fsync per document: 1.39 -> 1.07 ms per stored page (bench/pipeline.py).
        db.execute("PRAGMA synchronous = NORMAL")
        schema.apply(db)
    except sqlite3.DatabaseError as e:
        raise StorageError(f"{path}: not a usable SQLite database ({e})") from None
    return db


def _enable_wal(db: Database, wait_s: float = 10.0) -> None:
    """Switch to WAL, waiting while another connection writes: SQLite answers a
    journal-mode change with "database is locked" at once, without the busy
    timeout (two processes opening a new database together hit this)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect(path: str | Path) -> Database:
    """Open an existing knowledge base for reading (no migrations, sqlite-vec loaded)."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"{path}: database not found")
    db = Database(path)
    load_sqlite_vec(db.conn)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def load_sqlite_vec(conn) -> None:
    """Load sqlite-vec into a connection: vec_passages is a vec0 virtual table."""
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_hash(document: Mapping) -> str:
    """Hash of everything extracted from a page: if it matches, storing is a no-op."""
    fields = {k: document.get(k) for k in DOCUMENT_FIELDS}
    fields["links"] = links_json(fields["links"])
    for spoken in ("segments", "media_url"):  # only where there are any: other pages' hashes stay as they were
        if document.get(spoken):
            fields[spoken] = document[spoken]
    return content_hash(json.dumps(fields, sort_keys=True, ensure_ascii=False))


def links_json(links) -> str | None:
    if links is None or isinstance(links, str):
        return links
    return json.dumps(list(links), ensure_ascii=False)


def save_sources(db: Database, sources: Iterable) -> None:
    """Record the sources of a run (objects with the crawler.sources.Source fields)."""
    timestamp = now()
    with db.atomic():
        for s in sources:
            db["sources"].upsert(
                {
                    "name": s.name,
                    "start_urls": json.dumps(list(s.start_urls)),
                    "sitemaps": json.dumps(list(s.sitemaps)),
                    "feeds": json.dumps(list(s.feeds)),
                    "allow": json.dumps(list(s.allow)),
                    "deny": json.dumps(list(s.deny)),
                    "max_depth": s.max_depth,
                    "max_pages": s.max_pages,
                    "robots_sitemaps": int(s.robots_sitemaps),
                    "focus": int(s.focus),
                    "min_relevance": s.min_relevance,
                    "last_crawled": timestamp,
                },
                pk="name",
            )
            db.execute(
                "update sources set first_seen = coalesce(first_seen, ?) where name = ?",
                [timestamp, s.name],
            )


def save_document(db: Database, document: Mapping, spans: Sequence[tuple[int, int]]) -> Outcome:
    """Store one extracted page and its passages in a single transaction.

    ``document`` has ``url`` (canonical), ``fetched_url``, ``source`` and the
    DOCUMENT_FIELDS, and for a PDF ``media_type`` and ``pages`` (the offset in
    text where each page starts); ``spans`` are (start, end) character offsets
    of the passages in ``document["text"]``. A page whose extracted fields are
    unchanged only has ``last_fetched`` updated.
    """
    text = document["text"]
    if not text or not text.strip():
        raise ValueError("a document needs text")
    timestamp = now()
    digest = document_hash(document)
    with db.atomic():
        existing = next(db.query("select id, content_hash from documents where url = ?", [document["url"]]), None)
        fetch = {
            "fetched_url": document.get("fetched_url") or document["url"],
            "source": document.get("source"),
            "last_fetched": timestamp,
            "status": "ok",
            "etag": document.get("etag"),
            "last_modified": document.get("last_modified"),
            "body_hash": document.get("body_hash"),
        }
        if existing and existing["content_hash"] == digest:
            db["documents"].update(existing["id"], fetch)
            return "unchanged"
        record = {
            **fetch,
            **{k: document.get(k) for k in DOCUMENT_FIELDS},
            "links": links_json(document.get("links")),
            "url": document["url"],
            "year": _year(document.get("published")),
            "host": urlsplit(document["url"]).hostname,
            "word_count": len(re.findall(r"\w+", text)),
            "content_hash": digest,
            "last_changed": timestamp,
            "media_type": document.get("media_type") or "text/html",
            "media_url": document.get("media_url"),
            "segments": json.dumps(document["segments"], ensure_ascii=False) if document.get("segments") else None,
        }
        if existing:
            document_id = existing["id"]
            db.execute(
                "insert into revisions (document_id, title, text, content_hash, version_of, replaced_at) "
                "select id, title, text, content_hash, last_changed, ? from documents where id = ?",
                [timestamp, document_id],
            )
            db["documents"].update(document_id, record)
        else:
            record["first_seen"] = timestamp
            document_id = db["documents"].insert(record).last_pk
        _save_passages(db, document_id, text, spans, document.get("pages"), document.get("segments"))
        return "changed" if existing else "new"


def known_pages(db: Database) -> dict[str, dict]:
    """{fetched URL: {"etag", "last_modified", "body_hash", "last_fetched", "relevance"}} of the
    stored pages: what a re-crawl needs to send conditional requests, skip unchanged pages
    and rank the links of a page it does not extract again."""
    return {
        row.pop("fetched_url"): row
        for row in db.query(
            "select fetched_url, etag, last_modified, body_hash, last_fetched, relevance from documents"
            " where status = 'ok'"
        )
    }


def mark_unchanged(db: Database, fetched_url: str) -> bool:
    """A 304 Not Modified: only last_fetched changes. False when no document has that URL."""
    with db.atomic():
        cursor = db.execute(
            "update documents set last_fetched = ? where fetched_url = ? or url = ?", [now(), fetched_url, fetched_url]
        )
    return cursor.rowcount > 0


def mark_gone(db: Database, fetched_url: str) -> bool:
    """A page that now answers 404/410: its document stays, with status 'gone'.
    False when no document has that URL."""
    with db.atomic():
        cursor = db.execute(
            "update documents set status = 'gone', last_fetched = ? where (fetched_url = ? or url = ?) and status != 'gone'",
            [now(), fetched_url, fetched_url],
        )
    return cursor.rowcount > 0


def _save_passages(
    db: Database,
    document_id: int,
    text: str,
    spans: Sequence[tuple[int, int]],
    page_starts: Sequence[int] | None = None,
    segments: Sequence[Mapping] | None = None,
) -> None:
    """Bring a document's passages in line with ``spans``, touching only what differs.

    Rows are matched by position so an unchanged passage keeps its id (and,
    later, everything hanging off it). With ``page_starts`` (a PDF), each
    passage records the page (from 1) its first character is on; with
    ``segments`` (a transcript), its speaker and times (passage_timing).
    """
    columns = ("char_start", "char_end", "content_hash", "page", "speaker", "seconds", "end_seconds", "comment", "link")
    current = {
        row["seq"]: row
        for row in db.query(f"select id, seq, {', '.join(columns)} from passages where document_id = ?", [document_id])
    }
    for seq, (start, end) in enumerate(spans):
        passage_text = text[start:end]
        row = {
            "document_id": document_id,
            "seq": seq,
            "char_start": start,
            "char_end": end,
            "text": passage_text,
            "content_hash": content_hash(passage_text),
            "normalized_hash": schema.normalized_hash(passage_text),
            "page": bisect.bisect_right(page_starts, start) if page_starts else None,
            **passage_timing(segments or (), start, end),
        }
        old = current.get(seq)
        if old is None:
            db["passages"].insert(row)
        elif tuple(old[c] for c in columns) != tuple(row[c] for c in columns):
            db["passages"].update(old["id"], row)
    stale = [row["id"] for seq, row in current.items() if seq >= len(spans)]
    if stale:
        marks = ",".join("?" * len(stale))
        db.execute(f"delete from passage_topics where passage_id in ({marks})", stale)
        db.execute(f"update quotes set passage_id = null where passage_id in ({marks})", stale)
        db.execute(f"delete from vec_passages where passage_id in ({marks})", stale)
        db.execute(f"delete from passage_vectors where passage_id in ({marks})", stale)
        db.execute(f"delete from passages where id in ({marks})", stale)


def passage_timing(segments: Sequence[Mapping], start: int, end: int) -> dict:
    """A transcript passage's speaker (when it lies within one turn), the second its first turn
    starts at and the second its last turn ends by; a thread's passage's comment and its link (when
    it lies within one comment). None for each where the segments do not say."""
    touched = [s for s in segments if s["end"] > start and s["start"] < end] or [
        s for s in segments if s["end"] > start
    ][:1]
    if not touched:
        return dict.fromkeys(("speaker", "seconds", "end_seconds", "comment", "link"))
    first, last = touched[0], touched[-1]
    alone = len(touched) == 1
    return {
        "speaker": first["speaker"] if alone else None,
        "seconds": first.get("seconds"),
        "end_seconds": last.get("end_seconds"),
        "comment": first.get("comment") if alone else None,
        "link": first.get("url") if alone else None,
    }


def _year(published: str | None) -> int | None:
    if published and re.match(r"^\d{4}", published):
        return int(published[:4])
    return None


def start_run(db: Database, sources_file: str) -> int:
    """Open a crawl_runs row. Called under the writer lock, so a row still
    'running' belongs to a run that was killed: it is marked so."""
    with db.atomic():
        db.execute("update crawl_runs set status = 'killed' where status = 'running'")
        return db["crawl_runs"].insert({"started": now(), "status": "running", "sources_file": sources_file}).last_pk


def record_failure(
    db: Database, run_id: int, source: str | None, url: str, reason: str, kind: str | None = None
) -> None:
    with db.atomic():
        db["crawl_failures"].insert(
            {"run_id": run_id, "source": source, "url": url, "reason": reason, "kind": kind or reason, "at": now()}
        )


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    counts: Mapping[str, int],
    duration_s: float,
    per_source: Mapping[str, Mapping[str, int]] | None = None,
    errors: Mapping[str, int] | None = None,
) -> dict:
    """Close a run with its final status, counts and failures by kind; returns the stored row."""
    with db.atomic():
        db["crawl_runs"].update(
            run_id,
            {
                **counts,
                "status": status,
                "finished": now(),
                "duration_s": round(duration_s, 3),
                "per_source": json.dumps(per_source or {}, sort_keys=True),
                "errors": json.dumps(dict(errors or {}), sort_keys=True),
            },
        )
    return db["crawl_runs"].get(run_id)


# -- embeddings ---------------------------------------------------------------


def has_vectors(db: Database) -> bool:
    """Whether any passage has a vector (one row read, where embedding_models counts them all)."""
    return db.execute("select 1 from passage_vectors limit 1").fetchone() is not None


def embedding_models(db: Database) -> list[dict]:
    """The models (and dimensions) the stored vectors came from, with counts."""
    # Counted on the model index, each model's dimensions read from one of its vectors: grouping by
    # both read every vector (2.5 s at 2.4 million of them, on every analysis and search start-up).
    return list(
        db.query(
            "select model, (select dimensions from passage_vectors v where v.model = m.model limit 1) as dimensions, "
            "vectors from (select model, count(*) as vectors from passage_vectors group by model) as m order by model"
        )
    )


LLM_COLLECTION = "passages"


def export_to_llm(db: Database, collection: str = LLM_COLLECTION) -> int:
    """Copy the passages' vectors into `llm`'s own tables in the same file, as the collection
    ``collection`` (its model id the vectors' model), so `llm similar` answers from the file.

    llm creates its tables with its own migrations; the collection's rows are replaced as a
    whole, each with the passage's id, text, MD5 content hash (llm's) and its document's id
    and URL as metadata. Returns the number of vectors written.
    """
    try:
        from llm.embeddings_migrations import embeddings_migrations
    except ImportError:
        raise StorageError("llm is not installed (pip install llm)") from None
    models = embedding_models(db)
    if not models:
        raise StorageError("no passage has a vector yet: run `kb embed` first")
    if len(models) > 1:
        raise StorageError(f"the vectors come from {len(models)} models: run `kb embed` to re-embed with one")
    model = models[0]["model"]
    embeddings_migrations.apply(db)
    existing = list(db["collections"].rows_where("name = ?", [collection]))
    if existing and existing[0]["model"] != model:
        raise StorageError(
            f"llm's collection '{collection}' holds vectors of {existing[0]['model']}, "
            f"these are {model}: name another collection"
        )
    updated = int(time.time())
    with db.conn:
        collection_id = (
            existing[0]["id"] if existing else db["collections"].insert({"name": collection, "model": model}).last_pk
        )
        db.execute("delete from embeddings where collection_id = ?", [collection_id])
        rows = db.execute("""
            select passage_vectors.passage_id, passage_vectors.vector, passages.text, documents.id, documents.url
            from passage_vectors join passages on passages.id = passage_vectors.passage_id
              join documents on documents.id = passages.document_id""")
        db["embeddings"].insert_all(
            (
                {
                    "collection_id": collection_id,
                    "id": str(passage_id),
                    "embedding": vector,
                    "content": text,
                    "content_hash": hashlib.md5(text.encode("utf-8")).digest(),
                    "metadata": json.dumps({"document_id": document_id, "url": url}),
                    "updated": updated,
                }
                for passage_id, vector, text, document_id, url in rows
            ),
            batch_size=1000,
        )
    return db.execute("select count(*) from embeddings where collection_id = ?", [collection_id]).fetchone()[0]


_UNEMBEDDED = """from passages
    left join passage_vectors on passage_vectors.passage_id = passages.id
      and passage_vectors.model = ? and passage_vectors.content_hash = passages.content_hash
    where passage_vectors.id is null"""


def passages_to_embed(db: Database, model: str) -> list[dict]:
    """Passages with no vector from ``model`` for their current text."""
    return list(
        db.query(
            f"select passages.id, passages.text, passages.content_hash {_UNEMBEDDED} order by passages.id", [model]
        )
    )


def count_passages_to_embed(db: Database, model: str) -> int:
    return db.execute(f"select count(*) {_UNEMBEDDED}", [model]).fetchone()[0]


def analysis_inputs(db: Database) -> str:
    """A digest of what `kb analyze` reads from the database: it changes whenever a
    document is stored, changed or gone, or a vector is added or removed."""
    digest = hashlib.sha256(repr(embeddings_signature(db)).encode())
    for row in db.execute("select id, content_hash, status, author from documents order by id"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def last_analysis(db: Database) -> dict | None:
    return next(db.query("select * from analyses order by id desc limit 1"), None)


def record_analysis(db: Database, input_signature: str, summary: str) -> None:
    with db.atomic():
        db["analyses"].insert({"finished": now(), "input_signature": input_signature, "summary": summary})


def save_embeddings(db: Database, model: str, dimensions: int, rows: Iterable[tuple[int, str, bytes]]) -> int:
    """Store (passage_id, content_hash, float32 vector bytes) rows, replacing older vectors.

    The passage_vectors row and its vec_passages entry are written together.
    """
    rows = list(rows)
    timestamp = now()
    with db.atomic():
        for passage_id, passage_hash, vector in rows:
            if len(vector) != 4 * dimensions:
                raise ValueError(f"vector for passage {passage_id} has {len(vector) // 4} dimensions, not {dimensions}")
            db.execute("delete from passage_vectors where passage_id = ?", [passage_id])
            db.execute("delete from vec_passages where passage_id = ?", [passage_id])
            db.execute(
                "insert into passage_vectors (passage_id, model, dimensions, content_hash, vector, created) "
                "values (?, ?, ?, ?, ?, ?)",
                [passage_id, model, dimensions, passage_hash, vector, timestamp],
            )
            db.execute("insert into vec_passages (passage_id, embedding) values (?, ?)", [passage_id, vector])
    return len(rows)


def delete_embeddings_except(db: Database, model: str, dimensions: int) -> int:
    """Drop vectors from any other model, so vectors are never mixed."""
    with db.atomic():
        doomed = db.execute(
            "select count(*) from passage_vectors where model != ? or dimensions != ?", [model, dimensions]
        ).fetchone()[0]
        if doomed:
            db.execute("delete from passage_vectors where model != ? or dimensions != ?", [model, dimensions])
    if doomed or vector_index_dimensions(db) != dimensions:
        rebuild_vector_index(db, dimensions)
    return doomed


def vector_index_dimensions(db: Database) -> int | None:
    row = db.execute("select sql from sqlite_master where name = 'vec_passages'").fetchone()
    match = re.search(r"float\[(\d+)\]", row[0]) if row else None
    return int(match.group(1)) if match else None


def rebuild_vector_index(db: Database, dimensions: int | None = None) -> int:
    """Recreate vec_passages from the passage_vectors table; returns the number of vectors."""
    if dimensions is None:
        models = embedding_models(db)
        if len(models) > 1:
            raise StorageError(
                "vectors from several models are stored: "
                + ", ".join(f"{m['model']} ({m['dimensions']}d)" for m in models)
                + "; run `kb embed` to re-embed with one model"
            )
        dimensions = models[0]["dimensions"] if models else vector_index_dimensions(db) or schema.DEFAULT_DIMENSIONS
    with db.atomic():
        db.execute("drop table if exists vec_passages")
        db.execute(schema.vector_table_sql(dimensions))
        db.execute(
            "insert into vec_passages (passage_id, embedding) "
            "select passage_id, vector from passage_vectors where dimensions = ?",
            [dimensions],
        )
    return db.execute("select count(*) from passage_vectors where dimensions = ?", [dimensions]).fetchone()[0]


def embeddings_signature(db: Database) -> tuple[int, int]:
    """(count, max id) of the embeddings: changes whenever any vector is added, replaced or removed."""
    return tuple(db.execute("select count(*), coalesce(max(id), 0) from passage_vectors").fetchone())


def embeddings_by_id(db: Database, ids: Sequence[int], batch_size: int = 5000):
    """Yield lists of (embedding id, passage id, vector bytes) for ``ids``, in batches."""
    for i in range(0, len(ids), batch_size):
        chunk = list(ids[i : i + batch_size])
        yield db.execute(
            "select id, passage_id, vector from passage_vectors where id in (select value from json_each(?))",
            [json.dumps(chunk)],
        ).fetchall()


# -- people and works ---------------------------------------------------------


def save_people(db: Database, people: Iterable) -> None:
    """Upsert the curated people (kb.analysis.people.Person objects) as verified."""
    timestamp = now()
    with db.atomic():
        for person in people:
            existing = next(db.query("select id from people where name = ?", [person.name]), None)
            record = {
                "name": person.name,
                "aliases": json.dumps(list(person.aliases), ensure_ascii=False),
                "signoff": person.signoff,
                "description": person.description,
                "affiliation": person.affiliation,
                "verified": 1,
            }
            if existing:
                db["people"].update(existing["id"], record)
            else:
                db["people"].insert({**record, "first_seen": timestamp})


def forget_copies_of_unlisted(db: Database) -> None:
    """Documents no longer ok (gone) leave the copy candidates; back, they are compared again."""
    with db.atomic():
        unlisted = "select id from documents where status != 'ok'"
        db.execute(f"delete from minhash_bands where document_id in ({unlisted})")
        db.execute(f"delete from copy_pairs where a in ({unlisted}) or b in ({unlisted})")
        db.execute(
            "update documents set copies_key = null, bands_key = null "
            "where status != 'ok' and (copies_key is not null or bands_key is not null)"
        )


def documents_to_compare(db: Database, digest: str) -> list[int]:
    """Documents (status ok) whose band keys and copy pairs are not those of their current version."""
    return [
        row[0]
        for row in db.execute(
            "select id from documents where status = 'ok' and copies_key is not (? || ':' || content_hash) order by id",
            [digest],
        )
    ]


def save_band_keys(db: Database, keys: Mapping[int, tuple[str, Sequence[int]]]) -> None:
    """Replace the band keys of documents (id -> (bands_key, keys)), dropping their pairs and
    copies_key until compared."""
    ids = json.dumps(list(keys))
    with db.atomic():
        db.execute("delete from minhash_bands where document_id in (select value from json_each(?))", [ids])
        db.execute(
            "delete from copy_pairs where a in (select value from json_each(?)) or b in (select value from json_each(?))",
            [ids, ids],
        )
        db.conn.executemany(
            "update documents set copies_key = null, bands_key = ? where id = ?",
            [(bands_key, document_id) for document_id, (bands_key, _) in keys.items()],
        )
        db.conn.executemany(
            "insert or ignore into minhash_bands (key, document_id) values (?, ?)",
            [(key, document_id) for document_id, (_, document_keys) in keys.items() for key in document_keys],
        )


def copy_candidates(db: Database, document_id: int) -> dict[int, str]:
    """Documents (status ok) sharing a band key with ``document_id``: id -> content_hash."""
    return dict(
        db.execute(
            "select distinct other.document_id, documents.content_hash from minhash_bands own "
            "join minhash_bands other on other.key = own.key and other.document_id != own.document_id "
            "join documents on documents.id = other.document_id and documents.status = 'ok' "
            "where own.document_id = ? order by 1",
            [document_id],
        ).fetchall()
    )


def save_copy_pairs(db: Database, document_id: int, copies: Iterable[int], copies_key: str) -> None:
    """Record the documents ``document_id`` is a copy of, and that it was compared (its copies_key)."""
    with db.atomic():
        db.conn.executemany(
            "insert or ignore into copy_pairs (a, b) values (?, ?)",
            [(min(document_id, other), max(document_id, other)) for other in copies],
        )
        db.execute("update documents set copies_key = ? where id = ?", [copies_key, document_id])


def copy_pairs(db: Database) -> Iterator[tuple[int, int]]:
    yield from db.execute("select a, b from copy_pairs")


def ok_document_ids(db: Database) -> list[int]:
    return [row[0] for row in db.execute("select id from documents where status = 'ok' order by id")]


def save_works(db: Database, groups: Sequence[Sequence[int]]) -> None:
    """Bring the works in line with ``groups`` of document ids, writing only what differs.

    Each group is one work, its id the lowest document id, its title and date
    those of its earliest dated copy; documents in no group have no work.
    """
    documents = {row[0]: row[1:] for row in db.execute("select id, title, published, work_id from documents")}
    work_of: dict[int, int] = {}
    works: dict[int, tuple] = {}
    for group in groups:
        ids = sorted(group)
        first = min(ids, key=lambda i: (documents[i][1] is None, documents[i][1] or "", i))
        works[ids[0]] = (documents[first][0], documents[first][1], len(ids))
        work_of.update(dict.fromkeys(ids, ids[0]))
    current = {row[0]: tuple(row[1:]) for row in db.execute("select id, title, first_published, copies from works")}
    moved = [(work_of.get(i), i) for i, row in documents.items() if row[2] != work_of.get(i)]
    with db.atomic():
        db.conn.executemany("update documents set work_id = null where id = ?", [(i,) for _, i in moved])
        db.conn.executemany("delete from works where id = ?", [(i,) for i in current if i not in works])
        db.conn.executemany(
            "insert or replace into works (id, title, first_published, copies) values (?, ?, ?, ?)",
            [(i, *row) for i, row in works.items() if current.get(i) != row],
        )
        db.conn.executemany("update documents set work_id = ? where id = ?", [m for m in moved if m[0] is not None])


def person_id(db: Database, name: str, verified: bool = False, pseudonym: bool = False) -> int:
    """The id of the person called ``name``, adding them as unverified (and, for a handle, as a
    pseudonym) if new."""
    row = next(db.query("select id from people where name = ?", [name]), None)
    if row:
        return row["id"]
    record = {"name": name, "aliases": "[]", "verified": int(verified), "first_seen": now()}
    return db["people"].insert({**record, "pseudonym": int(pseudonym) if pseudonym else None}).last_pk


def documents_to_derive(db: Database, digest: str) -> list[int]:
    """Documents (status ok) whose statements were not derived from their current version with ``digest``."""
    return [
        row[0]
        for row in db.execute(
            "select id from documents where status = 'ok' and statements_key is not (? || ':' || content_hash) "
            "order by id",
            [digest],
        )
    ]


def parsed_people(db: Database) -> dict[str, tuple]:
    """The people the stored statements were derived with: name -> (name, aliases, signoff, pronoun)."""
    return {
        name: (name, tuple(json.loads(aliases)), signoff, pronoun)
        for name, aliases, signoff, pronoun in db.execute("select name, aliases, signoff, pronoun from parsed_people")
    }


def texts_derived_with(db: Database, digest: str, batch_size: int = 500) -> Iterator[list[tuple[int, str, str]]]:
    """Batches of (id, text, author) of the documents (status ok) whose statements were derived from
    their current version with ``digest``, streamed by id."""
    last = 0
    while True:
        batch = db.execute(
            "select id, text, coalesce(author, '') from documents where id > ? and status = 'ok' "
            "and statements_key = (? || ':' || content_hash) order by id limit ?",
            [last, digest, batch_size],
        ).fetchall()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def follow_people(db: Database, entries: Iterable[tuple], stale: Iterable[int]) -> None:
    """Record ``entries`` (kb.analysis.people.parse_entry) as the people statements are derived with,
    and mark the documents ``stale`` to be derived again, in one transaction."""
    with db.atomic():
        db.conn.executemany("update documents set statements_key = null where id = ?", [(i,) for i in stale])
        db.execute("delete from parsed_people")
        db.conn.executemany(
            "insert into parsed_people (name, aliases, signoff, pronoun) values (?, ?, ?, ?)",
            [
                (name, json.dumps(list(aliases), ensure_ascii=False), signoff, pronoun)
                for name, aliases, signoff, pronoun in entries
            ],
        )


def documents_by_id(db: Database, ids: Sequence[int], batch_size: int = 200) -> Iterator[dict]:
    """The documents ``ids`` (id, text, author, links, segments, content_hash, bands_key), read ``batch_size``
    at a time."""
    for i in range(0, len(ids), batch_size):
        yield from list(  # read whole, so the caller may write before the next batch
            db.query(
                "select id, text, author, links, segments, content_hash, bands_key from documents "
                "where id in (select value from json_each(?)) order by id",
                [json.dumps(list(ids[i : i + batch_size]))],
            )
        )


def statement_counts(db: Database) -> dict[str, int]:
    """What the analysis found, over the documents (status ok): statements, attributed, reported,
    documents cut short, and passages with topics."""
    row = db.execute("""
        select count(*), count(quotes.person_id), coalesce(sum(quotes.kind = 'indirect'), 0)
        from quotes join documents on documents.id = quotes.document_id where documents.status = 'ok'
    """).fetchone()
    cut = db.execute("select count(*) from documents where status = 'ok' and analysis_note is not null").fetchone()[0]
    tagged = db.execute("select count(distinct passage_id) from passage_topics").fetchone()[0]
    return {"statements": row[0], "attributed": row[1], "reported": row[2], "cut": cut, "tagged_passages": tagged}


def forget_analysis(db: Database) -> None:
    """Mark everything derived as to be derived again (`kb analyze --all`); the rows stay until replaced."""
    with db.atomic():
        db.execute(
            "update documents set copies_key = null, bands_key = null "
            "where copies_key is not null or bands_key is not null"
        )
        db.execute("update documents set relevance_key = null where relevance_key is not null")
        db.execute("update passages set relevance_key = null where relevance_key is not null")
        db.execute("update documents set statements_key = null where statements_key is not null")
        db.execute("update passages set topics_key = null where topics_key is not null")
        db.execute("update passages set stance_key = null where stance_key is not null")
        db.execute("update quotes set stance_key = null where stance_key is not null")


def save_quotes(
    db: Database,
    document_id: int,
    quotes: Iterable[Mapping],
    author: str | None,
    note: str | None = None,
    statements_key: str | None = None,
) -> int:
    """Replace one document's statements (and set its resolved author and analysis note), in one transaction.

    Each statement has the quotes table's columns, with ``speakers`` (the
    names of the people it belongs to, first the one quotes.person_id
    keeps) instead of person_id; names not yet in people become unverified
    people. ``note`` says when the document's analysis was cut short;
    ``statements_key`` what they were derived from (documents.statements_key).
    A statement stored before exactly as it is now keeps its row (its id,
    and so its stance until its passage's vector changes): a document that
    grew (a thread with new comments) gets rows for the new statements only.
    """
    quotes = list(quotes)
    with db.atomic():
        before = _stored_statements(db, document_id)
        passages = db.execute(
            "select id, char_start, char_end from passages where document_id = ? order by seq", [document_id]
        ).fetchall()
        ids: dict[str, int] = {}
        kept: set[int] = set()
        index: dict[tuple, list[int]] | None = None  # the stored statements by their values, to keep the same ones
        for quote in quotes:  # plain SQL: sqlite-utils' insert re-reads the table's schema on every call
            record = {k: v for k, v in quote.items() if k not in ("speakers", "pseudonyms")}
            handles = set(quote.get("pseudonyms") or ())
            people = list(
                dict.fromkeys(
                    ids.get(n) or ids.setdefault(n, person_id(db, n, pseudonym=n in handles))
                    for n in quote.get("speakers") or []
                )
            )
            record["document_id"] = document_id
            record["normalized_hash"] = schema.normalized_hash(quote["quote"])
            record["person_id"] = people[0] if people else None
            record["passage_id"] = next(
                (pid for pid, start, end in passages if start <= quote["char_start"] < end), None
            )
            if index is None:  # every record has the same columns
                fields = sorted(record)
                index = {}
                for row in before:
                    index.setdefault((*(row[f] for f in fields), *row["speakers"]), []).append(row["id"])
            same = index.get((*(record[f] for f in fields), *people))
            if same:
                kept.add(same.pop())
                continue
            columns = ", ".join(f"[{c}]" for c in record)
            cursor = db.execute(
                f"insert into quotes ({columns}) values ({', '.join('?' * len(record))})", list(record.values())
            )
            db.conn.executemany(
                "insert into quote_speakers (quote_id, person_id) values (?, ?)",
                [(cursor.lastrowid, p) for p in people],
            )
        gone = [(row["id"],) for row in before if row["id"] not in kept]
        db.conn.executemany("delete from quote_speakers where quote_id = ?", gone)
        db.conn.executemany("delete from quotes where id = ?", gone)
        db["documents"].update(
            document_id,
            {
                "author_id": person_id(db, author) if author else None,
                "analysis_note": note,
                "statements_key": statements_key,
            },
        )
    return len(quotes)


def _stored_statements(db: Database, document_id: int) -> list[dict]:
    """A document's stored statements (every column) with ``speakers``: their people's ids, in order."""
    rows = [dict(row) for row in db.query("select * from quotes where document_id = ? order by id", [document_id])]
    speakers: dict[int, list[int]] = {}
    for quote_id, person in db.execute(
        "select quote_id, person_id from quote_speakers where quote_id in "
        "(select id from quotes where document_id = ?) order by rowid",
        [document_id],
    ):
        speakers.setdefault(quote_id, []).append(person)
    for row in rows:
        row["speakers"] = speakers.get(row["id"], [])
    return rows


def prune_people(db: Database) -> int:
    """Remove unverified people nothing refers to any more (no statement, no authorship); returns how many.

    A re-analysis with better rules drops what they no longer find ("Send
    Tweet" in an older database); people.yml's people always stay.
    """
    with db.atomic():
        cursor = db.execute("""
            delete from people where verified = 0
              and id not in (select person_id from quote_speakers)
              and id not in (select person_id from quotes where person_id is not null)
              and id not in (select author_id from documents where author_id is not null)
        """)
    return cursor.rowcount


def save_topics(db: Database, topics: Iterable) -> dict[str, int]:
    """Replace the taxonomy (kb.analysis.topics.Topic objects); topic name -> id.

    A topic no longer in the file loses its passages' rows with it.
    """
    topics = list(topics)
    with db.atomic():
        names = json.dumps([t.name for t in topics])
        db.execute(
            "delete from passage_topics where topic_id in "
            "(select id from topics where name not in (select value from json_each(?)))",
            [names],
        )
        db.execute("delete from topics where name not in (select value from json_each(?))", [names])
        ids = {}
        for topic in topics:
            existing = next(db.query("select id from topics where name = ?", [topic.name]), None)
            terms = json.dumps(list(topic.terms), ensure_ascii=False)
            if existing:
                db["topics"].update(existing["id"], {"terms": terms})
                ids[topic.name] = existing["id"]
            else:
                ids[topic.name] = db["topics"].insert({"name": topic.name, "terms": terms}).last_pk
    return ids


def topic_terms(db: Database) -> dict[str, tuple[str, ...]]:
    """The stored topics (the taxonomy the stored tags were made with): name -> terms."""
    return {name: tuple(json.loads(terms)) for name, terms in db.execute("select name, terms from topics")}


def passages_derived_with(
    db: Database, key: str, digest: str, batch_size: int = 5000
) -> Iterator[list[tuple[int, str]]]:
    """Batches of (id, text) of the passages whose ``key`` (topics_key or relevance_key) says they were
    derived with ``digest``."""
    if key not in ("topics_key", "relevance_key"):
        raise ValueError(f"not a passage key: {key}")
    yield from _batches(
        db,
        f"select id, text from passages where id > ? and substr({key}, 1, length(?)) = ? order by id limit ?",
        [digest, digest],
        batch_size,
    )


def follow_topics(db: Database, topics: Iterable, stale: Iterable[int]) -> dict[str, int]:
    """Record ``topics`` as the taxonomy (save_topics) and mark the passages ``stale`` to be tagged
    again, in one transaction; topic name -> id."""
    with db.atomic():
        db.conn.executemany("update passages set topics_key = null where id = ?", [(i,) for i in stale])
        return save_topics(db, topics)


def passages_to_tag(db: Database, digest: str, batch_size: int = 5000) -> Iterator[list[tuple[int, str, str]]]:
    """Batches of (id, text, content_hash) of the passages whose topics were not derived from their
    current text with ``digest``."""
    yield from _batches(
        db,
        "select id, text, content_hash from passages where id > ? "
        "and topics_key is not (? || ':' || content_hash) order by id limit ?",
        [digest],
        batch_size,
    )


def _batches(db: Database, sql: str, params: list, batch_size: int) -> Iterator[list[tuple]]:
    """The rows of ``sql`` a batch at a time, each read after the caller handled the one before (so it
    may write in between). ``sql`` orders by its first column, an id, and takes the last id seen as its
    first parameter and the batch size as its last."""
    after = 0
    while rows := db.execute(sql, [after, *params, batch_size]).fetchall():
        yield rows
        after = rows[-1][0]


def save_passage_topics(
    db: Database,
    topic_ids: Mapping[str, int],
    digest: str,
    passages: Sequence[tuple[int, str]],
    found: Mapping[int, Mapping[str, int]],
) -> None:
    """Replace the topics of ``passages`` ((id, content_hash) pairs) with ``found`` (passage id ->
    {topic name: mentions}), and record what they were derived from."""
    ids = json.dumps([pid for pid, _ in passages])
    with db.atomic():
        db.execute("delete from passage_topics where passage_id in (select value from json_each(?))", [ids])
        db.conn.executemany(
            "insert into passage_topics (passage_id, topic_id, mentions) values (?, ?, ?)",
            [(pid, topic_ids[name], count) for pid, names in found.items() for name, count in names.items()],
        )
        db.conn.executemany(
            "update passages set topics_key = ? where id = ?", [(f"{digest}:{h}", pid) for pid, h in passages]
        )


def _json_or_null(reasons: dict | None) -> str | None:
    """A judgement's reasons as stored (stance_reasons, relevance_reasons)."""
    return None if reasons is None else json.dumps(reasons, ensure_ascii=False)


def _band(score: float | None) -> float | None:
    return None if score is None else min(int(score * 10), 9) / 10


def passages_to_score(db: Database, digest: str, batch_size: int = 2000) -> Iterator[list[tuple]]:
    """Batches of (passage id, document id, text, vector bytes, vector id) of the passages with a vector
    whose relevance was not computed from that vector with ``digest``."""
    yield from _batches(
        db,
        "select p.id, p.document_id, p.text, v.vector, v.id from passages p "
        "join passage_vectors v on v.passage_id = p.id "
        "where p.id > ? and p.relevance_key is not (? || ':' || v.id) order by p.id limit ?",
        [digest],
        batch_size,
    )


def scored_math_terms(db: Database) -> set[str]:
    """The math terms the stored relevance scores were computed with."""
    return {row[0] for row in db.execute("select term from scored_math_terms")}


def follow_math_terms(db: Database, terms: Iterable[str], stale: Iterable[int]) -> None:
    """Record ``terms`` as the math terms relevance is scored with, and mark the passages ``stale`` to be
    scored again, in one transaction."""
    with db.atomic():
        db.conn.executemany("update passages set relevance_key = null where id = ?", [(i,) for i in stale])
        db.execute("delete from scored_math_terms")
        db.conn.executemany("insert into scored_math_terms (term) values (?)", [(t,) for t in sorted(set(terms))])


def save_passage_relevance(db: Database, digest: str, rows: Iterable[tuple[int, int, float, dict | None]]) -> None:
    """Set (passage id, vector id, score, reasons) rows, with what they were computed from."""
    with db.atomic():
        db.conn.executemany(
            "update passages set relevance = ?, relevance_band = ?, relevance_reasons = ?, relevance_key = ? "
            "where id = ?",
            [
                (score, _band(score), _json_or_null(reasons), f"{digest}:{vector_id}", passage_id)
                for passage_id, vector_id, score, reasons in rows
            ],
        )


def clear_relevance_without_vectors(db: Database) -> list[int]:
    """Passages that have no vector lose their score; the ids of their documents."""
    with db.atomic():
        documents = [
            row[0]
            for row in db.execute(
                "select distinct document_id from passages where (relevance is not null or relevance_key is not null) "
                "and id not in (select passage_id from passage_vectors)"
            )
        ]
        db.execute(
            "update passages set relevance = null, relevance_band = null, relevance_reasons = null, "
            "relevance_key = null where (relevance is not null or relevance_key is not null) "
            "and id not in (select passage_id from passage_vectors)"
        )
    return documents


def documents_to_score(db: Database, digest: str) -> list[int]:
    """Documents whose relevance was not computed for their current version with ``digest``."""
    return [
        row[0]
        for row in db.execute(
            "select id from documents where relevance_key is not (? || ':' || content_hash) order by id", [digest]
        )
    ]


def documents_for_relevance(db: Database, ids: Sequence[int], top: int) -> Iterator[tuple]:
    """(id, text, language, [(score, passage id) of its ``top`` best scored passages]) of documents ``ids``."""
    for document_id in ids:
        row = db.execute("select id, text, language from documents where id = ?", [document_id]).fetchone()
        if row is None:
            continue
        best = db.execute(
            "select relevance, id from passages where document_id = ? and relevance is not null "
            "order by relevance desc, id desc limit ?",
            [document_id, top],
        ).fetchall()
        yield (*row, [tuple(b) for b in best])


def save_document_relevance(
    db: Database, digest: str, rows: Iterable[tuple[int, float | None, str | None, dict | None]]
) -> None:
    """Set (document id, score, flag, reasons) rows, with what they were computed from."""
    with db.atomic():
        db.conn.executemany(
            "update documents set relevance = ?, relevance_band = ?, relevance_flag = ?, relevance_reasons = ?, "
            "relevance_key = ? || ':' || content_hash where id = ?",
            [
                (score, _band(score), flag, _json_or_null(reasons), digest, document_id)
                for document_id, score, flag, reasons in rows
            ],
        )


def relevance_counts(db: Database, threshold: float) -> tuple[int, int]:
    """(documents at least ``threshold`` relevant, documents scored)."""
    row = db.execute("select coalesce(sum(relevance >= ?), 0), count(relevance) from documents", [threshold]).fetchone()
    return row[0], row[1]


# Rows that take a stance: passages relevant to the question (by their own score or their
# document's) that have a vector, and the statements in them. The first column groups copies.
# The passages on the question: their own relevance or their document's at least the threshold.
# Found through the relevance indexes, then the rows that take a stance are looked up from them
# (CROSS JOIN keeps that order): with one scan and an OR over both tables, SQLite read every
# passage and quote to find them, 28 of the 40 s of an analysis with nothing to do at 2.4 million
# passages and 2 million statements (BENCHMARKS.md).
_ON_QUESTION = (
    "with on_question(id) as materialized (select id from passages where relevance >= :threshold "
    "union select p.id from documents d join passages p on p.document_id = d.id where d.relevance >= :threshold) "
)
_JUDGED_ROWS = {
    # A passage is judged from its vector and the passages beside it (their cues): their hashes are
    # part of what it was judged from.
    "passages": _ON_QUESTION + "select p.normalized_hash, p.id as row_id, v.id || ':' || coalesce((select group_concat("
    "n.content_hash) from passages n where n.document_id = p.document_id and n.seq in (p.seq - 1, p.seq + 1)), '') "
    "as judged_from, p.stance_key from on_question o cross join passages p on p.id = o.id "
    "join passage_vectors v on v.passage_id = p.id",
    "quotes": _ON_QUESTION + "select q.normalized_hash, q.id as row_id, v.id as judged_from, q.stance_key "
    "from on_question o cross join quotes q on q.passage_id = o.id join passage_vectors v on v.passage_id = o.id "
    "where q.kind != 'question'",  # asking is not arguing
}


def _stance_table(table: str) -> str:
    if table not in _JUDGED_ROWS:
        raise ValueError(f"no stances in table {table}")
    return table


def clear_stances_off_question(db: Database, table: str, threshold: float, document_ids: Sequence[int]) -> None:
    """Rows of ``document_ids`` that no longer take a stance (off the question, or without a vector)
    lose theirs. Only a new relevance score takes a row off the question, so the documents scored
    again are the only ones to look at."""
    table = _stance_table(table)
    if not document_ids:
        return
    with db.atomic():
        db.execute(
            f"update {table} set stance = null, stance_confidence = null, stance_reasons = null, stance_key = null "
            f"where document_id in (select value from json_each(:documents)) "
            f"and (stance_key is not null or stance is not null or stance_reasons is not null) "
            f"and id not in (select row_id from ({_JUDGED_ROWS[table]}))",
            {"threshold": threshold, "documents": json.dumps(list(document_ids))},
        )


def stance_groups(db: Database, table: str, threshold: float) -> Iterator[list[tuple[int, int | str, str | None]]]:
    """The rows that take a stance, a group of copies (same normalized_hash) at a time: lists of
    (row id, what it is judged from, stance_key), by id. What a row is judged from is its vector's id
    (for quotes their passage's) and, for passages, the content hashes of the passages beside it."""
    cursor = db.execute(f"select * from ({_JUDGED_ROWS[_stance_table(table)]}) order by 1, 2", {"threshold": threshold})
    for _, group in itertools.groupby(cursor, key=lambda row: row[0]):
        yield [(row_id, judged_from, stance_key) for _, row_id, judged_from, stance_key in group]


def texts_for_stance(db: Database, table: str, ids: Sequence[int]) -> list[tuple[int, str, bytes]]:
    """(id, text, vector bytes) of passages or quotes, by id; a quote's vector is its passage's."""
    sql = {
        "passages": "select p.id, p.text, v.vector from passages p join passage_vectors v on v.passage_id = p.id",
        "quotes": "select q.id, q.quote, v.vector from quotes q join passage_vectors v on v.passage_id = q.passage_id",
    }[_stance_table(table)]
    alias = table[0]
    return db.execute(
        f"{sql} where {alias}.id in (select value from json_each(?)) order by {alias}.id", [json.dumps(list(ids))]
    ).fetchall()


# Embeddings kb analyze keeps of texts that are not passages, by normalized_hash and model:
# statements' (quotes.normalized_hash) and the examples of relevance.yml and stances.yml.
KEPT_VECTORS = ("statement_vectors", "example_vectors")


def kept_vectors(db: Database, table: str, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
    """The stored embeddings (float32 bytes by normalized_hash) made with ``model`` in ``table``, one
    of KEPT_VECTORS."""
    rows = db.execute(
        f"select normalized_hash, vector from {_kept(table)} where model = ? "
        "and normalized_hash in (select value from json_each(?))",
        [model, json.dumps(list(hashes))],
    )
    return dict(rows.fetchall())


def save_kept_vectors(db: Database, table: str, model: str, vectors: Mapping[str, bytes]) -> None:
    """Keep embeddings (normalized_hash -> float32 bytes) made with ``model`` in ``table``."""
    with db.atomic():
        db.conn.executemany(
            f"insert or replace into {_kept(table)} (normalized_hash, model, vector) values (?, ?, ?)",
            [(text_hash, model, vector) for text_hash, vector in vectors.items()],
        )


def prune_statement_vectors(db: Database, model: str) -> None:
    """Drop the embeddings of texts no statement has any more, and those of another model."""
    with db.atomic():
        db.execute(
            "delete from statement_vectors where model != ? or not exists "
            "(select 1 from quotes where quotes.normalized_hash = statement_vectors.normalized_hash)",
            [model],
        )


def prune_example_vectors(db: Database, model: str, hashes: Sequence[str]) -> None:
    """Keep only the embeddings of the examples ``hashes`` made with ``model``."""
    with db.atomic():
        db.execute(
            "delete from example_vectors where model != ? or normalized_hash not in (select value from json_each(?))",
            [model, json.dumps(list(hashes))],
        )


def _kept(table: str) -> str:
    if table not in KEPT_VECTORS:
        raise ValueError(f"no kept vectors in {table!r}")
    return table


def neighbour_texts(db: Database, ids: Sequence[int]) -> dict[int, list[str]]:
    """The texts of the passages before and after each of ``ids`` in its document, by id."""
    rows = db.execute(
        "select p.id, b.text, a.text from passages p "
        "left join passages b on b.document_id = p.document_id and b.seq = p.seq - 1 "
        "left join passages a on a.document_id = p.document_id and a.seq = p.seq + 1 "
        "where p.id in (select value from json_each(?))",
        [json.dumps(list(ids))],
    )
    return {row_id: [t for t in (before, after) if t] for row_id, before, after in rows}


def stances_by_id(
    db: Database, table: str, ids: Sequence[int]
) -> dict[int, tuple[str | None, float | None, dict | None]]:
    """The stored (stance, confidence, reasons) of passages or quotes, by id."""
    rows = db.execute(
        f"select id, stance, stance_confidence, stance_reasons from {_stance_table(table)} "
        "where id in (select value from json_each(?))",
        [json.dumps(list(ids))],
    )
    return {
        row_id: (stance, confidence, json.loads(reasons) if reasons else None)
        for row_id, stance, confidence, reasons in rows
    }


def save_stances(
    db: Database, table: str, stances: Iterable[tuple[int, str | None, float | None, dict | None, str]]
) -> None:
    """Set (id, stance, confidence, reasons, stance_key) of passages or quotes. The reasons are kept
    for an abstention too (stance None), so the UI can say why there is none."""
    table = _stance_table(table)
    with db.atomic():
        db.conn.executemany(
            f"update {table} set stance = ?, stance_confidence = ?, stance_reasons = ?, stance_key = ? where id = ?",
            [
                (stance, confidence, _json_or_null(reasons), key, row_id)
                for row_id, stance, confidence, reasons, key in stances
            ],
        )


def stance_count(db: Database) -> int:
    """Passages and quotes with a stance."""
    return sum(db.execute(f"select count(*) from {t} where stance is not null").fetchone()[0] for t in _JUDGED_ROWS)


# Curation (kb/curation.py): curators, and corrections applied after every analysis

CORRECTABLE_FIELDS = ("stance", "speaker", "kind", "verified")  # of a statement
# What a curator may say a statement is: a quotation, reported speech, or not a statement at all.
CORRECTED_KINDS = ("direct", "indirect", "none")
DOCUMENT_FIELDS_CORRECTED = ("author", "relevance", "work")
PERSON_FIELDS_CORRECTED = ("merge", "description")


def save_curator(db: Database, name: str, password_hash: str) -> None:
    db["curators"].upsert({"name": name, "password_hash": password_hash, "added": now()}, pk="name")


def remove_curator(db: Database, name: str) -> bool:
    """Remove a curator; False when there was none of that name. Their corrections stay."""
    with db.atomic():
        found = db.execute("select count(*) from curators where name = ?", [name]).fetchone()[0]
        db.execute("delete from curators where name = ?", [name])
    return bool(found)


def curator_password_hash(db: Database, name: str) -> str | None:
    row = next(db.query("select password_hash from curators where name = ?", [name]), None)
    return row["password_hash"] if row else None


def curator_names(db: Database) -> list[str]:
    return [row["name"] for row in db.query("select name from curators order by name")]


def statement_for_correction(db: Database, quote_id: int) -> dict | None:
    """What a correction of statement ``quote_id`` records about it: its document's URL, hash,
    kind, words, and its current stance, speaker and verified mark."""
    return next(
        db.query(
            """
            select quotes.id, documents.url as document_url, quotes.normalized_hash, quotes.kind, quotes.quote,
              quotes.stance, quotes.verified,
              (select group_concat(people.name, ' and ') from quote_speakers
               join people on people.id = quote_speakers.person_id where quote_speakers.quote_id = quotes.id) as speaker
            from quotes join documents on documents.id = quotes.document_id where quotes.id = ?""",
            [quote_id],
        ),
        None,
    )


def save_correction(db: Database, correction: Mapping) -> int:
    """Record a correction (kb/curation.py checks it first) and apply it; its id. Being the newest,
    it is the one to apply: the others stay as the last analysis left them."""
    with db.atomic():
        record = {**correction, "created": now()}
        record["status"] = "applied" if _apply_correction(db, record) else "review"
        return db["corrections"].insert(record).last_pk


def apply_corrections(db: Database) -> tuple[int, int]:
    """Apply the latest correction of each field of each statement, document and person (by when
    it was made: an imported older one does not override a newer one) to what it names: after
    every analysis, so corrections outlast re-crawls and re-analyses. One whose statement,
    document or person is no longer found is flagged 'review'. (applied, flagged for review)."""
    latest = list(
        db.query(
            """
            select * from (
              select *, row_number() over (
                partition by target, document_url, statement_hash, statement_kind, person_name, field
                order by created desc, id desc
              ) as newest
              from corrections)
            where newest = 1 order by id"""
        )
    )
    applied = 0
    with db.atomic():
        for correction in latest:
            done = _apply_correction(db, correction)
            status = "applied" if done else "review"
            if correction["status"] != status:
                db.execute("update corrections set status = ? where id = ?", [status, correction["id"]])
            applied += done
    return applied, len(latest) - applied


def _apply_correction(db: Database, correction: Mapping) -> bool:
    """Apply one correction; False when what it names is not here."""
    if correction["target"] == "document":
        return _apply_to_document(db, correction)
    if correction["target"] == "person":
        return _apply_to_person(db, correction)
    ids = [
        row[0]
        for row in db.execute(
            "select quotes.id from quotes join documents on documents.id = quotes.document_id "
            "where documents.url = ? and quotes.normalized_hash = ? and quotes.kind = ?",
            [correction["document_url"], correction["statement_hash"], correction["statement_kind"]],
        )
    ]
    if ids:
        _apply_to_statements(db, correction, ids)
        return True
    # A statement a curator removed ("not a statement") is meant to be missing, as long as its
    # words are still in its document.
    removed = correction["field"] == "kind" and correction["after"] == "none"
    return removed and _still_in_document(db, correction)


def _still_in_document(db: Database, correction: Mapping) -> bool:
    row = next(db.query("select text from documents where url = ?", [correction["document_url"]]), None)
    words = " ".join((correction["statement_text"] or "").lower().split())
    return bool(row and words and words in " ".join(row["text"].lower().split()))


def _apply_to_statements(db: Database, correction: Mapping, quote_ids: list[int]) -> None:
    marks = ",".join("?" * len(quote_ids))
    field, after = correction["field"], correction["after"]
    if field == "kind" and after == "none":  # not a statement: gone from every page and count
        db.execute(f"delete from quote_speakers where quote_id in ({marks})", quote_ids)
        db.execute(f"delete from quotes where id in ({marks})", quote_ids)
        return
    if field == "kind":
        db.execute(f"update quotes set kind = ?, corrected = 1 where id in ({marks})", [after, *quote_ids])
        return
    if field == "verified":
        db.execute(f"update quotes set verified = ? where id in ({marks})", [1 if after == "yes" else None, *quote_ids])
        return
    reasons = json.dumps({"by": "curator", "curator": correction["curator"], "note": correction["note"]})
    if field == "stance":
        db.execute(
            f"update quotes set stance = ?, stance_confidence = null, stance_reasons = ?, corrected = 1 "
            f"where id in ({marks})",
            [after or None, reasons if after else None, *quote_ids],
        )
    elif field == "speaker":
        person = person_id(db, after) if after else None
        db.execute(f"update quotes set person_id = ?, corrected = 1 where id in ({marks})", [person, *quote_ids])
        db.execute(f"delete from quote_speakers where quote_id in ({marks})", quote_ids)
        if person is not None:
            db["quote_speakers"].insert_all([{"quote_id": q, "person_id": person} for q in quote_ids])


CORRECTION_COLUMNS = (
    "curator",
    "created",
    "target",
    "document_url",
    "person_name",
    "statement_hash",
    "statement_kind",
    "statement_text",
    "field",
    "before",
    "after",
    "note",
)


def all_corrections(db: Database) -> list[dict]:
    """Every correction, oldest first, as export writes them (without ids and status)."""
    columns = ", ".join(CORRECTION_COLUMNS)
    return list(db.query(f"select {columns} from corrections order by id"))


def import_corrections(db: Database, corrections: Iterable[Mapping]) -> tuple[int, int]:
    """Add corrections made elsewhere (kb/curation.py checked them), skipping any already here
    (the same curator, time, statement and field), then apply them all; (added, already here)."""
    added = skipped = 0
    with db.atomic():
        for correction in corrections:
            found = db.execute(
                "select 1 from corrections where curator = ? and created = ? and document_url is ? "
                "and statement_hash is ? and person_name is ? and field = ?",
                [
                    correction["curator"],
                    correction["created"],
                    correction.get("document_url"),
                    correction.get("statement_hash"),
                    correction.get("person_name"),
                    correction["field"],
                ],
            ).fetchone()
            if found:
                skipped += 1
                continue
            db["corrections"].insert({**{c: correction.get(c) for c in CORRECTION_COLUMNS}, "status": "applied"})
            added += 1
        apply_corrections(db)
    return added, skipped


def _apply_to_document(db: Database, correction: Mapping) -> bool:
    """A document's author, relevance (on or off the question) or work (split from its copies,
    or joined to another document's); False when the document (or the other one) is not here."""
    row = next(db.query("select id, work_id from documents where url = ?", [correction["document_url"]]), None)
    if row is None:
        return False
    field, after = correction["field"], correction["after"] or ""
    if field == "author":
        db.execute(
            "update documents set author_id = ? where id = ?", [person_id(db, after) if after else None, row["id"]]
        )
    elif field == "relevance":
        score = 1.0 if after == "on" else 0.0
        reasons = json.dumps({"by": "curator", "curator": correction["curator"], "note": correction["note"]})
        db.execute(
            "update documents set relevance = ?, relevance_band = ?, relevance_reasons = ? where id = ?",
            [score, score, reasons, row["id"]],
        )
        db.execute(
            "update passages set relevance = ?, relevance_band = ? where document_id = ?", [score, score, row["id"]]
        )
    elif field == "work" and after == "split":
        db.execute("update documents set work_id = null where id = ?", [row["id"]])
    elif field == "work":  # "join URL": the work of the document at URL
        other = next(db.query("select id, work_id from documents where url = ?", [after.removeprefix("join ")]), None)
        if other is None:
            return False
        work = other["work_id"]
        if work is None:
            work = db["works"].insert({"title": None, "copies": 2}).last_pk
            db.execute("update documents set work_id = ? where id = ?", [work, other["id"]])
        db.execute("update documents set work_id = ? where id = ?", [work, row["id"]])
    return True


def _apply_to_person(db: Database, correction: Mapping) -> bool:
    """A person's description, or their merge into another (their name becomes that person's
    alias, their statements and documents that person's); False when either is not here."""
    person = next(db.query("select id, name from people where name = ?", [correction["person_name"]]), None)
    if correction["field"] == "description":
        if person is None:
            return False
        db.execute("update people set description = ? where id = ?", [correction["after"] or None, person["id"]])
        return True
    into = next(db.query("select id, aliases from people where name = ?", [correction["after"]]), None)
    if into is None:
        return False
    if person is None or person["id"] == into["id"]:
        return True  # merged already (nothing derived them again since)
    aliases = json.loads(into["aliases"] or "[]")
    if person["name"] not in aliases:
        db.execute("update people set aliases = ? where id = ?", [json.dumps([*aliases, person["name"]]), into["id"]])
    db.execute("update or ignore quote_speakers set person_id = ? where person_id = ?", [into["id"], person["id"]])
    db.execute("delete from quote_speakers where person_id = ?", [person["id"]])
    db.execute("update quotes set person_id = ? where person_id = ?", [into["id"], person["id"]])
    db.execute("update documents set author_id = ? where author_id = ?", [into["id"], person["id"]])
    db.execute("delete from people where id = ?", [person["id"]])
    return True
