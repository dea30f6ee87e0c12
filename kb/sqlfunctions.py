"""SQL functions the canned queries use, registered by the Datasette plugin and `kb search`."""

from __future__ import annotations

import re

# Words too common to say anything about a passage; dropped from keyword queries
# unless the query has nothing else.
STOPWORDS = frozenset(
    "a about after all also am an and any are as at be been but by can could did do does doing for "
    "from had has have having he her here hers him his how i if in into is it its just me more most "
    "my no nor not of off on once only or other our ours out over own same she should so some such "
    "than that the their theirs them then there these they this those through to too under until up "
    "very was we were what when where which while who whom why will with would you your yours".split()
)
MAX_TERMS = 32
_WORD = re.compile(r"\w+")


def fts_query(text) -> str:
    """An FTS5 query matching any of the words of ``text``: each quoted (so no
    operator or stray quote can cause a syntax error), stopwords dropped, at
    most MAX_TERMS terms. BM25 then ranks passages with more, rarer words first.
    """
    words = _WORD.findall(text) if isinstance(text, str) else []
    terms = [w for w in words if w.lower() not in STOPWORDS] or words
    unique = list(dict.fromkeys(t.lower() for t in terms))[:MAX_TERMS]
    return " OR ".join(f'"{t}"' for t in unique) or '""'


def register(conn) -> None:
    conn.create_function("kb_fts_query", 1, fts_query, deterministic=True)
