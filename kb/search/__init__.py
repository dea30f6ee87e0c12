"""`kb search`: the canned queries of metadata.yml, run outside Datasette.

The command line runs the very SQL that the JSON API serves
(``/kb/search.json``, ``/kb/semantic_search.json``, ``/kb/hybrid_search.json``),
with the same SQL functions, so both always rank alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .. import DATABASE_NAME, SEARCH_QUERIES, storage
from ..metadata import load_metadata
from . import sqlfunctions
from .keyword_index import KeywordSearch
from .semantic import SemanticSearch, context_weight


def canned_query_sql(name: str, metadata_path: str | Path | None = None) -> str:
    return load_metadata(metadata_path)["databases"][DATABASE_NAME]["queries"][name]["sql"]


class Searcher:
    """The canned search queries over one database file, with the model, the vector index and the
    keyword index loaded once (on first use) and kept for every later search."""

    def __init__(self, db_path: str | Path, metadata_path: str | Path | None = None):
        self.db_path = db_path
        self.metadata_path = metadata_path
        self.semantic = SemanticSearch(db_path)
        self.keyword = KeywordSearch(db_path)
        self._sql: dict[str, str] = {}

    def search(
        self,
        query: str,
        mode: str = "hybrid",
        limit: int = 10,
        keyword_weight: float = 0.02,
        semantic_weight: float = 1.0,
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
        if mode not in self._sql:  # metadata.yml is read once per mode, not per search
            self._sql[mode] = canned_query_sql(SEARCH_QUERIES[mode], self.metadata_path)
        sql = self._sql[mode]
        if mode != "keyword":
            context_weight()  # SearchError for a mistake in $KB_CONTEXT_WEIGHT, before any SQL runs
            self.semantic.model  # loads the model; SearchError for a database of mixed vectors
        db = storage.connect(self.db_path)
        try:
            sqlfunctions.register(db.conn)
            self.keyword.register(db.conn)
            self.semantic.register(db.conn)
            params = {
                "q": query,
                "limit": str(limit),
                "keyword_weight": str(keyword_weight),
                "semantic_weight": str(semantic_weight),
                "min_relevance": "" if min_relevance is None else str(min_relevance),
            }
            rows = list(db.query(sql, params))
        finally:
            db.close()
        for row in rows:  # JSON text in SQL; a list here, as in /search.json
            row["also_published_at"] = json.loads(row.get("also_published_at") or "[]")
        return rows


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
    """One search with a Searcher of its own (kb.api.KnowledgeBase keeps one for many)."""
    return Searcher(db_path, metadata_path).search(query, mode, limit, keyword_weight, semantic_weight, min_relevance)


_MARKED = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def who_and_stance(db_path: str | Path, passage_ids: list[int]) -> dict[int, dict]:
    """Per passage: the people its statements are attributed to, and the stances taken
    (its statements', else its own), for a reader of search results."""
    db = storage.connect(db_path)
    try:
        rows = db.query(
            """
            select passages.id, passages.stance,
              (select json_group_array(distinct people.name) from quotes
                 join quote_speakers on quote_speakers.quote_id = quotes.id
                 join people on people.id = quote_speakers.person_id
               where quotes.passage_id = passages.id) as speakers,
              (select json_group_array(distinct quotes.stance) from quotes
               where quotes.passage_id = passages.id and quotes.stance is not null) as quote_stances
            from passages where passages.id in (select value from json_each(:ids))
        """,
            {"ids": json.dumps(passage_ids)},
        )
        return {
            row["id"]: {
                "speakers": sorted(json.loads(row["speakers"])),
                "stances": sorted(json.loads(row["quote_stances"])) or [s for s in [row["stance"]] if s],
            }
            for row in rows
        }
    finally:
        db.close()


def highlighted(snippet: str, style) -> str:
    """A snippet's ``**matches**`` passed through ``style`` (bold on a terminal), the markers dropped."""
    return _MARKED.sub(lambda m: style(m.group(1)), snippet)
