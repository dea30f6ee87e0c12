"""kb.web: the knowledge base on the web. This package is kb's Datasette plugin,
registered through the ``datasette`` entry point.

- Loads sqlite-vec on every connection (vec_passages is a vec0 table) and
  registers kb_fts_query() (kb.search.sqlfunctions), kb_bm25() (kb.search.keyword_index),
  kb_embed() and kb_knn() (kb.search.semantic), so all the canned queries run
  in plain SQL.
- Loads the embedding model and maps the vector index at startup, in the
  background, so the first semantic query is not slow and the first pages
  need not wait for it.
- Search snippets come from crawled text, which is data and never HTML: the
  canned queries mark matched terms with ``**`` (readable in JSON and CSV),
  and render_cell shows them as <mark> after escaping the text.
- Adds the research UI's pages (kb/web/ui.py, templates in kb/web/templates/, which Datasette finds beside this package).
- Bounds what a visitor can make it do (kb/web/guard.py): a length limit on
  every connection, security headers, parameter checks and, when the plugin
  is configured with ``public: true`` (``kb serve --public``), the public
  mode's limits.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref

from datasette import hookimpl
from markupsafe import Markup, escape

from kb import DATABASE_NAME, PLUGIN_NAME, storage
from kb.metadata import load_metadata
from kb.search import sqlfunctions
from kb.search.keyword_index import KeywordSearch
from kb.search.semantic import SemanticSearch
from kb.web import curate, guard, ui
from kb.web.curate import permission_allowed  # noqa: F401 (a hook of this plugin)

logger = logging.getLogger(__name__)
SNIPPET_COLUMNS = {"snippet"}
_searches: dict[tuple[type, str], SemanticSearch | KeywordSearch] = {}


def _search(datasette, kind: type):
    """One ``kind`` (SemanticSearch: model, cache, index; KeywordSearch: the tantivy reader)
    per database file, per process, shared by every connection."""
    if DATABASE_NAME not in datasette.databases:
        return None
    path = datasette.databases[DATABASE_NAME].path
    if (kind, path) not in _searches:
        _searches[kind, path] = kind(path)
    return _searches[kind, path]


def semantic_search(datasette) -> SemanticSearch | None:
    return _search(datasette, SemanticSearch)


def serves_knowledge_base(datasette) -> bool:
    """Whether ``datasette`` serves a knowledge base: a database named ``kb`` (`datasette kb.db`),
    or metadata with ``plugins: kb:`` (which `kb serve` writes, before it adds the database).
    The plugin touches nothing else, so `datasette other.db` in the same environment
    behaves as if it were not installed."""
    return DATABASE_NAME in datasette.databases or datasette.plugin_config(PLUGIN_NAME) is not None


@functools.cache
def _project_metadata() -> dict:
    return load_metadata()


# Datasette instances given the project's metadata.yml itself (`kb serve` without --metadata):
# merging it in again would only repeat Datasette's recursive merge of it, 13 times a page
# (2.5 ms of a hybrid search, BENCHMARKS.md "Serving").
_GIVEN_PROJECT_METADATA: weakref.WeakSet = weakref.WeakSet()


def given_project_metadata(datasette) -> None:
    _GIVEN_PROJECT_METADATA.add(datasette)


@hookimpl
def get_metadata(datasette, key, database, table):
    """The project's metadata.yml as the defaults, so a plain `datasette kb.db` gets the canned
    queries, table descriptions and title; metadata given to Datasette overrides it key by key."""
    if DATABASE_NAME not in datasette.databases:  # (not serves_knowledge_base: it reads the metadata)
        return None
    if datasette in _GIVEN_PROJECT_METADATA:
        return None
    try:
        return _project_metadata()
    except Exception as e:  # a broken metadata.yml: `kb serve` reports it before it starts
        logger.warning("%s", e)
        return None


@hookimpl
def prepare_connection(conn, database, datasette):
    if database != DATABASE_NAME:
        return
    storage.load_sqlite_vec(conn)
    guard.limit_length(conn)
    curate.hide_password_hashes(conn)
    sqlfunctions.register(conn)
    for kind in (SemanticSearch, KeywordSearch):
        _search(datasette, kind).register(conn)


@hookimpl
def startup(datasette):
    async def warm():
        search = semantic_search(datasette)
        if search is not None:
            # In the background: pages that need no model are served meanwhile, and a semantic
            # query that comes first waits for the same load (SemanticSearch's lock).
            asyncio.get_running_loop().run_in_executor(None, _warm, search)

    return warm


def _warm(search: SemanticSearch) -> None:
    try:
        search.warm()
    except Exception as e:  # keyword search must keep working whatever happens here
        logger.warning("semantic search is not ready: %s", e)


def _plain_tracebacks() -> None:
    """Datasette 0.65 prints every exception it answers, 404s included, with rich
    when rich is importable (spaCy's command line brings it); rich raises when
    there is no exception being handled, which turned every 404 into a 500.
    Without rich, Datasette answers with the right status and prints a plain
    traceback for real errors only. (Imported here, not at the top: importing
    it loads Datasette's plugins, this one among them.)"""
    import datasette.handle_exception

    datasette.handle_exception.rich = None


@hookimpl
def asgi_wrapper(datasette):
    if not serves_knowledge_base(datasette):
        return None
    _plain_tracebacks()
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    queries = datasette.metadata("queries", database=DATABASE_NAME) or {}

    def wrap(app):
        return guard.Guard(
            _decode_json_columns(app),
            public=bool(config.get("public")),
            canned_queries=queries,
            base_url=datasette.setting("base_url"),
        )

    return wrap


# Columns holding JSON text in SQL that every JSON answer gives as a list, as /search.json,
# `kb search --json` and the Python API do (one type per field).
JSON_COLUMNS = ("also_published_at",)


def _decode_json_columns(app):
    """Datasette's own ``_json=COLUMN`` parameter, on by default for JSON_COLUMNS in the
    knowledge base's JSON (canned queries, tables, views); columns a request names are kept."""
    extra = "&".join(f"_json={column}" for column in JSON_COLUMNS).encode()

    async def app_with_json_columns(scope, receive, send):
        if scope["type"] == "http" and scope["path"].endswith(".json") and f"/{DATABASE_NAME}/" in scope["path"]:
            query = scope["query_string"]
            scope = {**scope, "query_string": query + b"&" + extra if query else extra}
        await app(scope, receive, send)

    return app_with_json_columns


@hookimpl
def register_routes(datasette):
    """The research UI's pages (kb/web/ui.py): home, search, people, comparison, charts, reader,
    citations; and the curators' sign-in and corrections (kb/web/curate.py)."""
    return ui.ROUTES + curate.ROUTES if serves_knowledge_base(datasette) else None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != DATABASE_NAME or not isinstance(value, str):
        return None
    if column in SNIPPET_COLUMNS:
        return ui.marked(value)
    if table == "documents" and column == "title" and "id" in row.keys():
        # Datasette's row page squeezes a document's text into a column: its title opens the reader.
        href = datasette.urls.path(f"/documents/{row['id']}")
        return Markup(f'<a href="{escape(href)}" title="Read it in the knowledge base">{escape(value)}</a>')
    return None


# Datasette's own pages of the knowledge base (tables, rows, queries; the research UI has its own
# styles): long text wrapped, row pages one field under the other, column descriptions folded.
STATIC = "/-/static-plugins/math-ml-kb/"  # Datasette names a plugin by its distribution


@hookimpl
def extra_css_urls(database, datasette):
    return [datasette.urls.path(STATIC + "datasette-pages.css")] if database == DATABASE_NAME else []


@hookimpl
def extra_js_urls(database, datasette):
    return [datasette.urls.path(STATIC + "datasette-pages.js")] if database == DATABASE_NAME else []
