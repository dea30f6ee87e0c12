"""The knowledge base's tables, created and changed only through migrations.

Table and column names are a public API: Datasette's JSON endpoints expose
them as they are, and researchers' scripts depend on them. Never rename or
drop a column in a migration; add new ones.

Every change to the schema is a new function decorated with ``@migrations()``
below; ``apply`` runs the ones a database has not seen yet, each in its own
transaction (sqlite-utils records them in ``_sqlite_migrations``).
"""

from __future__ import annotations

import hashlib

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("kb")


@migrations()
def m001_initial(db: Database) -> None:
    db["sources"].create(
        {
            "name": str,
            "start_urls": str,  # JSON lists, as written in the sources file
            "sitemaps": str,
            "feeds": str,
            "allow": str,
            "deny": str,
            "max_depth": int,
            "robots_sitemaps": int,  # 1 when robots.txt sitemaps are read
            "first_seen": str,
            "last_crawled": str,
        },
        pk="name",
    )
    db["documents"].create(
        {
            "id": int,
            "url": str,  # canonical URL: one row per page, however it was reached
            "fetched_url": str,
            "source": str,
            "title": str,
            "author": str,
            "published": str,  # ISO 8601 date
            "year": int,
            "site_name": str,
            "host": str,
            "language": str,
            "description": str,
            "text": str,
            "word_count": int,
            "content_hash": str,
            "first_seen": str,
            "last_fetched": str,
            "last_changed": str,
            "status": str,
        },
        pk="id",
        not_null={"url", "text", "content_hash", "status"},
        foreign_keys=[("source", "sources", "name")],
    )
    db["documents"].create_index(["url"], unique=True)
    for column in ("source", "site_name", "author", "language", "year", "published", "status"):
        db["documents"].create_index([column])

    db["passages"].create(
        {
            "id": int,
            "document_id": int,
            "seq": int,  # 0-based position in the document
            "char_start": int,  # offsets into documents.text
            "char_end": int,
            "text": str,
            "content_hash": str,
        },
        pk="id",
        not_null={"document_id", "seq", "char_start", "char_end", "text", "content_hash"},
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["passages"].create_index(["document_id", "seq"], unique=True)

    db["crawl_runs"].create(
        {
            "id": int,
            "started": str,
            "finished": str,
            "status": str,  # running, completed, interrupted, failed
            "sources_file": str,
            "fetched": int,
            "new": int,
            "changed": int,
            "unchanged": int,
            "failed": int,
            "skipped": int,
            "duration_s": float,
            "per_source": str,  # JSON: {source: {new: n, changed: n, ...}}
        },
        pk="id",
        defaults={"fetched": 0, "new": 0, "changed": 0, "unchanged": 0, "failed": 0, "skipped": 0},
    )
    db["crawl_failures"].create(
        {"id": int, "run_id": int, "source": str, "url": str, "reason": str, "at": str},
        pk="id",
        foreign_keys=[("run_id", "crawl_runs", "id")],
    )
    db["crawl_failures"].create_index(["run_id"])

    db["documents"].enable_fts(["title", "description", "text"], tokenize="porter", create_triggers=True)
    db["passages"].enable_fts(["text"], tokenize="porter", create_triggers=True)


# The vec0 index's dimensions until a model with another size is used;
# storage.rebuild_vector_index recreates it for the model in use.
DEFAULT_DIMENSIONS = 384


@migrations()
def m002_embeddings(db: Database) -> None:
    db["embeddings"].create(
        {
            "id": int,  # changes whenever a passage's vector is replaced
            "passage_id": int,
            "model": str,
            "dimensions": int,
            "content_hash": str,  # passages.content_hash the vector was made from
            "vector": bytes,  # float32 little-endian, unit length (sqlite-vec / llm format)
            "created": str,
        },
        pk="id",
        not_null={"passage_id", "model", "dimensions", "content_hash", "vector"},
        foreign_keys=[("passage_id", "passages", "id")],
    )
    db["embeddings"].create_index(["passage_id"], unique=True)
    db["embeddings"].create_index(["model"])
    db.execute(vector_table_sql(DEFAULT_DIMENSIONS))


def vector_table_sql(dimensions: int) -> str:
    """The sqlite-vec index over embeddings: exact cosine KNN, keyed by passage id."""
    return (
        "create virtual table vec_passages using vec0("
        f"passage_id integer primary key, embedding float[{int(dimensions)}] distance_metric=cosine)"
    )


@migrations()
def m003_people_and_works(db: Database) -> None:
    db["people"].create(
        {
            "id": int,
            "name": str,  # canonical name
            "aliases": str,  # JSON list
            "signoff": str,
            "description": str,
            "affiliation": str,
            "verified": int,  # 1: listed in people.yml; 0: found in crawled text
            "first_seen": str,
        },
        pk="id",
        not_null={"name", "verified"},
    )
    db["people"].create_index(["name"], unique=True)
    db["people"].create_index(["verified"])
    db["works"].create(
        {
            "id": int,  # the lowest id of its documents: stable while that copy exists
            "title": str,
            "first_published": str,
            "copies": int,
        },
        pk="id",
    )
    db["documents"].add_column("work_id", int, fk="works", fk_col="id")
    db["documents"].create_index(["work_id"])
    # What a search hit shows about its passage; work_key groups republished copies.
    db.create_view(
        "passage_details",
        """
        select
          passages.id as passage_id,
          passages.document_id,
          passages.content_hash,
          passages.text,
          documents.title,
          documents.url,
          documents.site_name,
          documents.author,
          documents.published,
          documents.work_id,
          coalesce(documents.work_id, -documents.id) as work_key,
          (select json_group_array(other.url) from documents as other
            where other.work_id = documents.work_id and other.id != documents.id) as also_published_at
        from passages join documents on documents.id = passages.document_id
    """,
    )


@migrations()
def m004_quotes_and_topics(db: Database) -> None:
    db["documents"].add_column("author_id", int, fk="people", fk_col="id")
    db["documents"].create_index(["author_id"])
    db["quotes"].create(
        {
            "id": int,
            "document_id": int,  # where the quotation was found
            "passage_id": int,
            "quote": str,
            "char_start": int,  # offsets of the quoted words in documents.text
            "char_end": int,
            "speaker_mention": str,  # the words naming the speaker: a name, alias or pronoun
            "speaker_start": int,
            "speaker_end": int,
            "person_id": int,  # resolved speaker; null when the text does not say
            "cue": str,  # reporting verb or ':' that links quotation and speaker
            "cites_url": str,  # for a second-hand quotation: the source it cites
        },
        pk="id",
        not_null={"document_id", "quote", "char_start", "char_end"},
        foreign_keys=[
            ("document_id", "documents", "id"),
            ("passage_id", "passages", "id"),
            ("person_id", "people", "id"),
        ],
    )
    for column in ("document_id", "passage_id", "person_id"):
        db["quotes"].create_index([column])
    db["topics"].create({"id": int, "name": str, "terms": str}, pk="id", not_null={"name"})
    db["topics"].create_index(["name"], unique=True)
    db["passage_topics"].create(
        {"passage_id": int, "topic_id": int, "mentions": int},
        pk=("passage_id", "topic_id"),
        foreign_keys=[("passage_id", "passages", "id"), ("topic_id", "topics", "id")],
    )
    db["passage_topics"].create_index(["topic_id"])


@migrations()
def m005_stances(db: Database) -> None:
    for table in ("passages", "quotes"):
        db[table].add_column("stance", str)  # a stance of stances.yml, or null
        db[table].add_column("stance_confidence", float)
        db[table].create_index(["stance"])


@migrations()
def m006_document_links(db: Database) -> None:
    db["documents"].add_column("links", str)  # JSON [{start, end, url}] of links in the main text


@migrations()
def m007_incremental_crawling(db: Database) -> None:
    db["documents"].add_column("etag", str)  # HTTP validators of the last fetch, for conditional requests
    db["documents"].add_column("last_modified", str)
    db["crawl_runs"].add_column("gone", int, not_null_default=0)
    db["revisions"].create(
        {
            "id": int,
            "document_id": int,
            "title": str,
            "text": str,
            "content_hash": str,
            "version_of": str,  # when this version was first stored (its last_changed)
            "replaced_at": str,  # when a newer version replaced it
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["revisions"].create_index(["document_id"])


@migrations()
def m008_source_max_pages(db: Database) -> None:
    db["sources"].add_column("max_pages", int)


@migrations()
def m009_cheap_recrawls_and_error_summary(db: Database) -> None:
    db["documents"].add_column("body_hash", str)  # sha256 of the bytes last fetched: same bytes, no re-extraction
    db["crawl_failures"].add_column("kind", str)  # "HTTP 503", "timeout", "too large"...: what the summary groups by
    db["crawl_runs"].add_column("errors", str)  # JSON {kind: count} of this run's failures


@migrations()
def m010_analyses(db: Database) -> None:
    db["analyses"].create(
        {"id": int, "finished": str, "input_signature": str, "summary": str},
        pk="id",
    )


@migrations()
def m011_facet_indexes(db: Database) -> None:
    """An index on each facet column of metadata.yml that had none.

    A facet is a GROUP BY over the whole table on every page view; with an
    index SQLite counts from the index alone (6 times faster at 200k rows).
    """
    for table, column in (
        ("quotes", "cue"),
        ("crawl_failures", "source"),
        ("crawl_failures", "kind"),
        ("people", "affiliation"),
        ("crawl_runs", "status"),
    ):
        db[table].create_index([column])


@migrations()
def m012_relevance(db: Database) -> None:
    """Relevance to the knowledge base's question (kb/analysis/relevance.py), written by `kb analyze`.

    Scores are 0..1 (null until analysed); relevance_band is the score's
    tenth (0.0, 0.1, ... 0.9) so the UI can facet by it; relevance_flag says
    why a score may mislead ("language fr"). crawl_runs.low_relevance counts
    pages whose links a focused crawl did not follow; sources records each
    source's focus settings. (passage_details gains relevance in m013.)
    """
    for table in ("passages", "documents"):
        db[table].add_column("relevance", float)
        db[table].add_column("relevance_band", float)
        db[table].create_index(["relevance"])
        db[table].create_index(["relevance_band"])
    db["documents"].add_column("relevance_flag", str)
    db["documents"].create_index(["relevance_flag"])
    db["crawl_runs"].add_column("low_relevance", int, not_null_default=0)
    db["sources"].add_column("focus", int)
    db["sources"].add_column("min_relevance", float)


@migrations()
def m013_pdf_documents(db: Database) -> None:
    """Documents that are not web pages (PDFs, crawler/pdf.py): each document's media type,
    and the page each passage of a PDF starts on (null for web pages).

    passage_details gains both, so a search hit can link into a PDF at its page,
    and the relevance a search hit is filtered by (m012's scores): its
    passage's or its document's, whichever is higher, so a short passage of
    a relevant article stays in view.
    """
    db["documents"].add_column("media_type", str)
    db.execute("update documents set media_type = 'text/html'")
    db["documents"].create_index(["media_type"])
    db["passages"].add_column("page", int)
    db["passage_details"].drop()
    db.create_view(
        "passage_details",
        """
        select
          passages.id as passage_id,
          passages.document_id,
          passages.content_hash,
          passages.text,
          passages.page,
          documents.title,
          documents.url,
          documents.media_type,
          documents.site_name,
          documents.author,
          documents.published,
          documents.work_id,
          coalesce(documents.work_id, -documents.id) as work_key,
          (select json_group_array(other.url) from documents as other
            where other.work_id = documents.work_id and other.id != documents.id) as also_published_at,
          case when passages.relevance is null and documents.relevance is null then null
               else max(coalesce(passages.relevance, 0), coalesce(documents.relevance, 0)) end as relevance
        from passages join documents on documents.id = passages.document_id
    """,
    )


@migrations()
def m014_statements(db: Database) -> None:
    """Reported speech beside quotations, speakers that are not people, statements of several people.

    quotes.kind is ``direct`` (words in quotation marks, the only kind before
    this migration) or ``indirect`` (reported speech); speaker_type says what
    the speaker mention names (person, organisation, other); cue_start is the
    cue's offset in documents.text. quote_speakers lists every person a
    statement belongs to (quotes.person_id is the first of them).
    documents.analysis_note says when the analysis of a document was cut
    short (its parse is capped, kb.analysis.quotes.MAX_PARSE_CHARS).
    """
    db["quotes"].add_column("kind", str, not_null_default="direct")
    db["quotes"].add_column("speaker_type", str)
    db["quotes"].add_column("cue_start", int)
    db.execute("update quotes set speaker_type = 'person' where person_id is not null")
    for column in ("kind", "speaker_type"):
        db["quotes"].create_index([column])
    db["quote_speakers"].create(
        {"quote_id": int, "person_id": int},
        pk=("quote_id", "person_id"),
        foreign_keys=[("quote_id", "quotes", "id"), ("person_id", "people", "id")],
    )
    db["quote_speakers"].create_index(["person_id"])
    db.execute(
        "insert into quote_speakers (quote_id, person_id) select id, person_id from quotes where person_id is not null"
    )
    db["documents"].add_column("analysis_note", str)


@migrations()
def m015_reasons(db: Database) -> None:
    """Why each judgement of `kb analyze` was made, as JSON (kb/analysis/stance.py, kb/analysis/relevance.py).

    stance_reasons (passages, quotes): what decided (``by``: cues, examples,
    too short, nothing close, not about the question), the cue phrases
    matched per stance, the closest examples with their similarity, and the
    stance it abstained from when unsure. relevance_reasons (passages,
    documents): the parts of the score (discussion cues, math terms near ML
    terms, the closest example and counterexample); a document's are its
    best passage's.
    """
    for table in ("passages", "quotes"):
        db[table].add_column("stance_reasons", str)
    for table in ("passages", "documents"):
        db[table].add_column("relevance_reasons", str)
    db.create_view("person_statements", PERSON_STATEMENTS)


@migrations()
def m016_passage_vectors(db: Database) -> None:
    """The vectors' table is passage_vectors: `llm` keeps its own `embeddings` table (with a
    different layout) in the files it works on, and `kb llm-export` writes one beside it."""
    db.rename_table("embeddings", "passage_vectors")


@migrations()
def m017_analysis_keys(db: Database) -> None:
    """What each derived row was derived from, so `kb analyze` redoes only what changed.

    documents.statements_key: the statements (quotes, quote_speakers) and the
    resolved author were derived from this version of the document with this
    people.yml, parser and rules (kb.analysis.analyze.statements_digest and
    the document's content_hash). passages.topics_key: likewise for the
    passage's topics (topics.yml and the passage's content_hash). NULL: not
    derived yet, or `kb analyze --all` asked for it again.
    """
    db["documents"].add_column("statements_key", str)
    db["passages"].add_column("topics_key", str)


@migrations()
def m018_copy_candidates(db: Database) -> None:
    """Republished copies kept up to date document by document.

    minhash_bands: each document's LSH band keys (kb.analysis.works.band_keys);
    documents sharing a key are candidate copies. copy_pairs: candidate pairs
    confirmed on their shingles (a < b). documents.copies_key: the version of
    the document (and of the rules) its keys and pairs were computed for.
    """
    db["documents"].add_column("copies_key", str)
    db.execute(
        "create table minhash_bands (key integer not null, document_id integer not null references documents(id), "
        "primary key (key, document_id)) without rowid"
    )
    db.execute("create index idx_minhash_bands_document_id on minhash_bands (document_id)")
    db.execute(
        "create table copy_pairs (a integer not null references documents(id), "
        "b integer not null references documents(id), primary key (a, b)) without rowid"
    )
    db.execute("create index idx_copy_pairs_b on copy_pairs (b)")


@migrations()
def m019_relevance_keys(db: Database) -> None:
    """What each relevance score was computed from: passages.relevance_key (relevance.yml, the
    model and the scorer, plus the passage's vector id), documents.relevance_key (the same, plus the
    document's content_hash). NULL: to be scored."""
    db["passages"].add_column("relevance_key", str)
    db["documents"].add_column("relevance_key", str)


def normalized_hash(text: str) -> str:
    """What passages.normalized_hash and quotes.normalized_hash hold: the text's hash without case and
    spacing, shared by the copies of one text (a republished passage, a quotation repeated)."""
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


@migrations()
def m020_stance_keys(db: Database) -> None:
    """Stances judged once per group of copies (kb.analysis.analyze._stances).

    normalized_hash (passages, quotes): see normalized_hash(); copies of one
    text share one judgement. stance_key: what the judgement was made from
    (stances.yml, the model and the classifier, plus the ids and vectors of
    every copy in the group). NULL: to be judged.
    """
    for table, column in (("passages", "text"), ("quotes", "quote")):
        db[table].add_column("normalized_hash", str)
        db[table].add_column("stance_key", str)
        db.conn.executemany(
            f"update {table} set normalized_hash = ? where id = ?",
            [(normalized_hash(text), row_id) for row_id, text in db.execute(f"select id, [{column}] from {table}")],
        )


@migrations()
def m021_band_keys(db: Database) -> None:
    """documents.bands_key: the version of the document (and of the rules) whose band keys
    minhash_bands holds. Set with them, by the analysis or by a distributed crawl's writer storing a
    worker's (kb.analysis.derive), so that a document is hashed once even before it is compared."""
    db["documents"].add_column("bands_key", str)
    db.execute("update documents set bands_key = copies_key where copies_key is not null")


@migrations()
def m022_parsed_people(db: Database) -> None:
    """parsed_people: people.yml's people as the stored statements were derived with them (what the
    parser reads of each: kb.analysis.people.parse_entry). documents.statements_key no longer holds
    people.yml: an edit of it derives again only the documents that name a person whose entry
    changed (kb.analysis.analyze.follow_people)."""
    db["parsed_people"].create(
        {"name": str, "aliases": str, "signoff": str, "pronoun": str}, pk="name", not_null={"name", "aliases"}
    )


@migrations()
def m023_spoken_documents(db: Database) -> None:
    """Transcripts and captions (crawler/transcripts.py): a document's recording (media_url) and
    its segments (JSON: each turn's words as text offsets, speaker, seconds and end_seconds), and
    each passage's speaker (when it lies within one turn), the second it starts at and ends by.

    passage_details gains them and moment_url, the link that opens the recording at the passage:
    ``t=…s`` for YouTube, a media fragment ``#t=…`` for anything else.
    """
    db["documents"].add_column("media_url", str)
    db["documents"].add_column("segments", str)
    db["passages"].add_column("speaker", str)
    db["passages"].add_column("seconds", int)
    db["passages"].add_column("end_seconds", int)
    db["passage_details"].drop()
    db.create_view(
        "passage_details",
        """
        select
          passages.id as passage_id,
          passages.document_id,
          passages.content_hash,
          passages.text,
          passages.page,
          passages.speaker,
          passages.seconds,
          passages.end_seconds,
          case
            when passages.seconds is null or documents.media_url is null then null
            when documents.media_url like 'https://www.youtube.com/%' or documents.media_url like 'https://youtube.com/%'
              or documents.media_url like 'https://m.youtube.com/%' or documents.media_url like 'https://youtu.be/%'
              then documents.media_url || case when instr(documents.media_url, '?') then '&' else '?' end
                   || 't=' || passages.seconds || 's'
            else documents.media_url || '#t=' || passages.seconds
          end as moment_url,
          documents.title,
          documents.url,
          documents.media_type,
          documents.site_name,
          documents.author,
          documents.published,
          documents.work_id,
          coalesce(documents.work_id, -documents.id) as work_key,
          (select json_group_array(other.url) from documents as other
            where other.work_id = documents.work_id and other.id != documents.id) as also_published_at,
          case when passages.relevance is null and documents.relevance is null then null
               else max(coalesce(passages.relevance, 0), coalesce(documents.relevance, 0)) end as relevance
        from passages join documents on documents.id = passages.document_id
    """,
    )


@migrations()
def m024_discussion_threads(db: Database) -> None:
    """Discussion threads (crawler/threads.py): each passage of a thread is one comment, with its
    id (passages.comment) and its own page (passages.link); a comment's author is a pseudonymous
    person (people.pseudonym: a handle, never merged with a real name).

    passage_details gains comment and link (a comment's own page; a recording's passage has its
    moment_url instead).
    """
    db["passages"].add_column("comment", str)
    db["passages"].add_column("link", str)
    db["people"].add_column("pseudonym", int)
    db["passage_details"].drop()
    db.create_view(
        "passage_details",
        """
        select
          passages.id as passage_id,
          passages.document_id,
          passages.content_hash,
          passages.text,
          passages.page,
          passages.speaker,
          passages.seconds,
          passages.end_seconds,
          passages.comment,
          case
            when passages.seconds is null or documents.media_url is null then null
            when documents.media_url like 'https://www.youtube.com/%' or documents.media_url like 'https://youtube.com/%'
              or documents.media_url like 'https://m.youtube.com/%' or documents.media_url like 'https://youtu.be/%'
              then documents.media_url || case when instr(documents.media_url, '?') then '&' else '?' end
                   || 't=' || passages.seconds || 's'
            else documents.media_url || '#t=' || passages.seconds
          end as moment_url,
          passages.link,
          documents.title,
          documents.url,
          documents.media_type,
          documents.site_name,
          documents.author,
          documents.published,
          documents.work_id,
          coalesce(documents.work_id, -documents.id) as work_key,
          (select json_group_array(other.url) from documents as other
            where other.work_id = documents.work_id and other.id != documents.id) as also_published_at,
          case when passages.relevance is null and documents.relevance is null then null
               else max(coalesce(passages.relevance, 0), coalesce(documents.relevance, 0)) end as relevance
        from passages join documents on documents.id = passages.document_id
    """,
    )


@migrations()
def m025_statement_copies(db: Database) -> None:
    """An index on quotes (normalized_hash, kind): the copies of one statement (a republished
    article's quotation) are found by it, so counts, charts and the new-statements feed count
    and list each statement once."""
    db["quotes"].create_index(["normalized_hash", "kind"], if_not_exists=True)


@migrations()
def m026_curation(db: Database) -> None:
    """Curation: curators (who may correct, with a scrypt hash of their password) and corrections
    (who changed what, when, from what to what, and why), applied after every analysis.

    A correction names its statement as it was found: the document's URL and the statement's
    normalized_hash and kind, which survive re-crawls and re-analyses; when the statement's words
    change on its page the correction no longer finds it and is flagged for review. quotes gain
    verified (a curator checked it) and corrected (a curator changed it)."""
    db["curators"].create({"name": str, "password_hash": str, "added": str}, pk="name", not_null={"password_hash"})
    db["corrections"].create(
        {
            "id": int,
            "curator": str,
            "created": str,
            "target": str,  # 'statement', 'document' or 'person'
            "document_url": str,  # the statement's document, or the document corrected
            "person_name": str,  # the person corrected, by the name they had
            "statement_hash": str,
            "statement_kind": str,
            "statement_text": str,  # the words corrected, as they were
            "field": str,  # statement: stance, speaker, verified; document: author, relevance, work; person: merge, description
            "before": str,
            "after": str,
            "note": str,
            "status": str,  # 'applied', or 'review' when the statement is no longer found
        },
        pk="id",
        not_null={"curator", "created", "target", "field"},
    )
    db["corrections"].create_index(["document_url", "statement_hash"])
    db["quotes"].add_column("verified", int)
    db["quotes"].add_column("corrected", int)


@migrations()
def m027_vector_ids_never_reused(db: Database) -> None:
    """passage_vectors.id is the key of a vector in the HNSW graphs (kb.vectors), which follow the
    table by its ids: AUTOINCREMENT, so that the id of a removed vector is never given to another.
    Without it SQLite gives the next row the largest id again once that row is deleted, and a graph
    would keep the old vector under the new row's id."""
    db.execute(
        """create table passage_vectors_new (
            id integer primary key autoincrement,
            passage_id integer not null references passages(id),
            model text not null,
            dimensions integer not null,
            content_hash text not null,
            vector blob not null,
            created text
        )"""
    )
    db.execute(
        "insert into passage_vectors_new (id, passage_id, model, dimensions, content_hash, vector, created) "
        "select id, passage_id, model, dimensions, content_hash, vector, created from passage_vectors"
    )
    db.execute("drop table passage_vectors")
    db.execute("alter table passage_vectors_new rename to passage_vectors")
    db["passage_vectors"].create_index(["passage_id"], index_name="idx_embeddings_passage_id", unique=True)
    db["passage_vectors"].create_index(["model"], index_name="idx_embeddings_model")


@migrations()
def m028_statement_vectors(db: Database) -> None:
    """The embedding of each statement text judged for its stance, by model: a stances.yml edit
    judges every statement again, and without them encoded every one again. Keyed by the text's
    normalized_hash (the model ignores case and spacing), so copies share one."""
    _create_kept_vectors(db, "statement_vectors")


def _create_kept_vectors(db: Database, table: str) -> None:
    """A table of embeddings kb analyze keeps by text (storage.KEPT_VECTORS), one per normalized_hash and model."""
    db.execute(
        f"""create table if not exists {table} (
            normalized_hash text not null,
            model text not null,
            vector blob not null,
            primary key (normalized_hash, model)
        ) without rowid"""
    )


# The full-text indexes and the columns each indexes (m001).
FTS_COLUMNS = {"documents": ("title", "description", "text"), "passages": ("text",)}


@migrations()
def m029_full_text_triggers(db: Database) -> None:
    """Keep each full-text index in step with its table, and only when an indexed column changes.

    m003 added documents.work_id with a foreign key, which makes sqlite-utils
    rebuild the table, and the rebuild dropped the triggers that fed
    documents_fts: Datasette's search box on documents found nothing written
    after it. And sqlite-utils' update triggers fire on any column, so every
    analysis key, stance or last_fetched written to a row deleted and indexed
    its text again (7x the cost of the update itself on passages). The
    triggers are made again, firing on the indexed columns only, and
    documents_fts is rebuilt from its table once."""
    for table, columns in FTS_COLUMNS.items():
        fts = f"{table}_fts"
        names = ", ".join(f'"{c}"' for c in columns)
        old = ", ".join(f'old."{c}"' for c in columns)
        new = ", ".join(f'new."{c}"' for c in columns)
        for trigger in ("ai", "ad", "au"):
            db.execute(f'drop trigger if exists "{table}_{trigger}"')
        db.execute(
            f'create trigger "{table}_ai" after insert on "{table}" begin '
            f'insert into "{fts}" (rowid, {names}) values (new.rowid, {new}); end'
        )
        db.execute(
            f'create trigger "{table}_ad" after delete on "{table}" begin '
            f'insert into "{fts}" ("{fts}", rowid, {names}) values (\'delete\', old.rowid, {old}); end'
        )
        db.execute(
            f'create trigger "{table}_au" after update of {names} on "{table}" begin '
            f'insert into "{fts}" ("{fts}", rowid, {names}) values (\'delete\', old.rowid, {old}); '
            f'insert into "{fts}" (rowid, {names}) values (new.rowid, {new}); end'
        )
    db.execute("insert into documents_fts (documents_fts) values ('rebuild')")


@migrations()
def m030_scored_math_terms(db: Database) -> None:
    """scored_math_terms: the math terms the stored relevance scores were computed with (relevance.yml's
    and topics.yml's), so an edit of them scores again only the passages that hold a term it added or
    removed (analyze.follow_math_terms) instead of every passage."""
    db.execute("create table if not exists scored_math_terms (term text primary key) without rowid")


@migrations()
def m031_example_vectors(db: Database) -> None:
    """The embedding of each example text of relevance.yml and stances.yml, by model: an analysis
    that scores or judges anything builds its classifiers from them, and without them loaded the
    model (seconds) to encode the same few dozen texts again, even when every passage and
    statement it judges already has its vector stored."""
    _create_kept_vectors(db, "example_vectors")


# A person's distinct statements: quotations and reported speech attributed to
# them, and passages of documents they wrote (minus passages quoting someone
# else). Copies of one statement (a republished article) are one row: its
# earliest source, its most confident stance, how many copies.
PERSON_STATEMENTS = """
    with every_statement as (
      select quote_speakers.person_id, quotes.kind, quotes.quote as text, quotes.stance,
             quotes.stance_confidence as confidence, quotes.stance_reasons, documents.url, documents.title,
             documents.published, quotes.id as quote_id, quotes.passage_id
      from quotes join quote_speakers on quote_speakers.quote_id = quotes.id
        join documents on documents.id = quotes.document_id
      union all
      select documents.author_id, 'written', passages.text, passages.stance, passages.stance_confidence,
             passages.stance_reasons, documents.url, documents.title, documents.published, null, passages.id
      from passages join documents on documents.id = passages.document_id
      where documents.author_id is not null
        and passages.id not in (select passage_id from quotes
                                where passage_id is not null and person_id is not documents.author_id)
    ),
    keyed as (
      select *, lower(trim(text)) as statement_key,
        count(*) over copies as copies,
        row_number() over (partition by person_id, kind, lower(trim(text))
                           order by published is null, published, url) as copy_order
      from every_statement
      window copies as (partition by person_id, kind, lower(trim(text)))
    ),
    stance_of_copies as (
      select person_id, kind, statement_key, stance, confidence, stance_reasons,
        row_number() over (partition by person_id, kind, statement_key
                           order by stance is null, confidence desc) as stance_order
      from keyed
    )
    select keyed.person_id, keyed.kind, keyed.text, chosen.stance, chosen.confidence, chosen.stance_reasons,
           keyed.published, keyed.url, keyed.title, keyed.copies, keyed.quote_id, keyed.passage_id
    from keyed join stance_of_copies as chosen
      on chosen.person_id = keyed.person_id and chosen.kind = keyed.kind
     and chosen.statement_key = keyed.statement_key and chosen.stance_order = 1
    where keyed.copy_order = 1
"""


def apply(db: Database) -> None:
    """Bring a database up to the current schema (a no-op when it is current).

    Two processes may open a new database at the same moment (two cron runs,
    a crawl and Datasette): the migrations run in one IMMEDIATE transaction,
    so the second waits for SQLite's write lock and then finds nothing pending
    instead of creating the same tables again.
    """
    if not migrations.pending(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)  # each migration's own transaction becomes a savepoint
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
