"""The math-in-ML knowledge base: schema, storage, the `kb` command line and the Datasette plugin."""

__version__ = "0.1.0"

# The name Datasette serves the knowledge base under, whatever its file is called,
# so JSON API URLs (/kb/...) are the same for everyone.
DATABASE_NAME = "kb"

# Search mode -> the canned query of metadata.yml that runs it (/kb/search.json, ...);
# `kb search` and the research UI's /search both go through these.
SEARCH_QUERIES = {"keyword": "search", "semantic": "semantic_search", "hybrid": "hybrid_search"}

# The Datasette plugin's name (pyproject's entry point): its settings live under
# metadata's plugins: kb: (`kb serve --public` sets public: true there).
PLUGIN_NAME = "kb"

__all__ = ["KnowledgeBase", "KbError", "Locked"]


def __getattr__(name: str):
    """`from kb import KnowledgeBase` (kb/api.py), loaded on first use: the crawler and the
    plugin import this package too, and need none of it."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
