"""`kb search`: the canned queries of metadata.yml, run outside Datasette.

The command line runs the very SQL that the JSON API serves
(``/kb/search.json``, ``/kb/semantic_search.json``, ``/kb/hybrid_search.json``),
with the same SQL functions, so both always rank alike.
"""

from __future__ import annotations

from pathlib import Path

from embeddings.search import SemanticSearch, context_weight

from . import SEARCH_QUERIES, sqlfunctions, storage
from .keyword_index import KeywordSearch
from .web.serve import DATABASE_NAME, load_metadata


def canned_query_sql(name: str, metadata_path: str | Path | None = None) -> str:
    return load_metadata(metadata_path)["databases"][DATABASE_NAME]["queries"][name]["sql"]


def search(
    db_path: str | Path,
    query: str,
    mode: str = "hybrid",
    limit: int = 10,
    keyword_weight: float = 0.02,
    semantic_weight: float = 1.0,
    metadata_path: str | Path | None = None,
    min_relevance: float | None = None,
) -> list[dict]:
    """Ranked passages for ``query``; raises ValueError for an empty query or unknown mode.

    ``min_relevance`` None searches what is relevant by relevance.yml's threshold; 0 everything.
    ``keyword_weight`` and ``semantic_weight`` weigh the two scores that hybrid search adds up.
    """
    if mode not in SEARCH_QUERIES:
        raise ValueError(f"unknown mode '{mode}' (choose from {', '.join(SEARCH_QUERIES)})")
    if not query or not query.strip():
        raise ValueError("empty query")
    sql = canned_query_sql(SEARCH_QUERIES[mode], metadata_path)
    semantic = SemanticSearch(db_path)
    if mode != "keyword":
        context_weight()  # SearchError for a mistake in $KB_CONTEXT_WEIGHT, before any SQL runs
        semantic.model  # loads the model; SearchError for a database of mixed vectors
    db = storage.connect(db_path)
    try:
        sqlfunctions.register(db.conn)
        KeywordSearch(db_path).register(db.conn)
        semantic.register(db.conn)
        params = {
            "q": query, "limit": str(limit),
            "keyword_weight": str(keyword_weight), "semantic_weight": str(semantic_weight),
            "min_relevance": "" if min_relevance is None else str(min_relevance),
        }
        return list(db.query(sql, params))
    finally:
        db.close()
