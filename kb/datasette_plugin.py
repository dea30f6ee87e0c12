"""kb's Datasette plugin, registered through the ``datasette`` entry point.

- Loads sqlite-vec on every connection (vec_passages is a vec0 table) and
  registers kb_fts_query() (kb.sqlfunctions), kb_bm25() (kb.keyword_index),
  kb_embed() and kb_knn() (embeddings.search), so all the canned queries run
  in plain SQL.
- Loads the embedding model and the vector index at startup, so the first
  query is not slow.
- Search snippets come from crawled text, which is data and never HTML: the
  canned queries mark matched terms with ``**`` (readable in JSON and CSV),
  and render_cell shows them as <mark> after escaping the text.
- Adds the research UI's pages (kb/ui.py, templates in kb/templates/).
- Bounds what a visitor can make it do (kb/guard.py): a length limit on
  every connection, security headers, parameter checks and, when the plugin
  is configured with ``public: true`` (``kb serve --public``), the public
  mode's limits.
"""

from __future__ import annotations

import asyncio
import logging

import datasette.handle_exception
from datasette import hookimpl

from embeddings.search import SemanticSearch
from kb import DATABASE_NAME, PLUGIN_NAME, guard, sqlfunctions, storage, ui
from kb.keyword_index import KeywordSearch

logger = logging.getLogger(__name__)
# Datasette 0.65 prints every exception it answers, 404s included, with rich
# when rich is importable (spaCy's command line brings it); rich raises when
# there is no exception being handled, which turned every 404 into a 500.
# Without rich, Datasette answers with the right status and prints a plain
# traceback for real errors only.
datasette.handle_exception.rich = None
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


@hookimpl
def prepare_connection(conn, database, datasette):
    storage.load_sqlite_vec(conn)
    guard.limit_length(conn)
    sqlfunctions.register(conn)
    if database == DATABASE_NAME:
        for kind in (SemanticSearch, KeywordSearch):
            _search(datasette, kind).register(conn)


@hookimpl
def startup(datasette):
    async def warm():
        search = semantic_search(datasette)
        if search is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, search.warm)
        except Exception as e:  # keyword search must keep working whatever happens here
            logger.warning("semantic search is not ready: %s", e)

    return warm


@hookimpl
def asgi_wrapper(datasette):
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    queries = datasette.metadata("queries", database=DATABASE_NAME) or {}

    def wrap(app):
        return guard.Guard(app, public=bool(config.get("public")), canned_queries=queries)

    return wrap


@hookimpl
def register_routes():
    """The research UI's pages (kb/ui.py): home, search, people, comparison, charts."""
    return ui.ROUTES


@hookimpl
def render_cell(value, column):
    if column not in SNIPPET_COLUMNS or not isinstance(value, str):
        return None
    return ui.marked(value)
