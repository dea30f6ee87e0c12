"""SQL functions the canned queries use, registered by the Datasette plugin and `kb search`."""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata

import tantivy

from ..analysis.relevance import BUILTIN, RelevanceError, load_relevance

logger = logging.getLogger(__name__)

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
# Every function here is linear in its input and reads at most this much of it: a
# public SQL endpoint can hand them any string, and SQLite's time limit cannot
# interrupt Python while it runs.
MAX_QUERY_CHARS = 2000
MAX_SNIPPET_CHARS = 50_000
_WORD = re.compile(r"\w+")


def query_terms(text) -> list[str]:
    """The words of ``text`` a keyword search looks for: lower-cased, in order,
    each once, stopwords dropped (unless nothing else is left), at most MAX_TERMS
    from its first MAX_QUERY_CHARS characters."""
    words = _WORD.findall(text[:MAX_QUERY_CHARS]) if isinstance(text, str) else []
    terms = [w for w in words if w.lower() not in STOPWORDS] or words
    return list(dict.fromkeys(t.lower() for t in terms))[:MAX_TERMS]


def fts_query(text) -> str:
    """An FTS5 query matching any of ``query_terms(text)``, each quoted (so no
    operator or stray quote can cause a syntax error). BM25 then ranks
    passages with more, rarer words first.
    """
    return " OR ".join(f'"{t}"' for t in query_terms(text)) or '""'


SNIPPET_WORDS = 32
_SNIPPET_WORD = re.compile(r"[^\W_]+")  # tantivy's simple tokenizer: runs of letters and digits
_stemmer = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


def _stems(text: str) -> list[str]:
    return _stemmer.analyze(text)


def snippet(text, query) -> str | None:
    """Up to SNIPPET_WORDS words of ``text`` around the query's words, those marked ``**like this**``.

    Words match as the keyword index matches them (lower-cased, stemmed:
    "learning" marks "learned"). The window with the most distinct query
    words wins; "…" marks text cut at either end. FTS5's snippet() would
    need a full-text lookup per row, which costs up to 3 ms each at a million
    passages when a query's words are common. Only the first
    MAX_SNIPPET_CHARS characters are searched.
    """
    if not isinstance(text, str):
        return None
    text = text[:MAX_SNIPPET_CHARS]
    spans = [m.span() for m in _SNIPPET_WORD.finditer(text)]
    stems = _stems(text)
    if len(stems) != len(spans):  # a token the two tokenizers cut differently: stem word by word
        stems = [(_stems(text[a:b]) or [""])[0] for a, b in spans]
    wanted = set(_stems(" ".join(query_terms(query))))
    hits = [i for i, stem in enumerate(stems) if stem in wanted]
    start = _best_window(stems, hits)
    end = min(len(spans), start + SNIPPET_WORDS)
    if not spans:
        return text
    marked = set(hits)
    out = ["…" if start > 0 else ""]
    position = spans[start][0] if start > 0 else 0
    for i in range(start, end):
        a, b = spans[i]
        out.append(text[position:a])
        out.append(f"**{text[a:b]}**" if i in marked else text[a:b])
        position = b
    out.append(text[position:] if end == len(spans) else "…")
    return "".join(out)


def _best_window(stems: list[str], hits: list[int]) -> int:
    """First word of the SNIPPET_WORDS-word window holding the most distinct hit words, then the most hits.

    Each hit proposes the window starting three words before it; those starts
    never decrease, so one pass with a sliding count of the hits inside finds
    the best (linear in the number of hits).
    """
    best, best_score = 0, (-1, -1)
    inside: dict[str, int] = {}
    first = last = 0  # hits[first:last] are inside the current window
    for hit in hits:
        start = max(0, min(hit - 3, len(stems) - SNIPPET_WORDS))
        while last < len(hits) and hits[last] < start + SNIPPET_WORDS:
            inside[stems[hits[last]]] = inside.get(stems[hits[last]], 0) + 1
            last += 1
        while hits[first] < start:
            stem = stems[hits[first]]
            inside[stem] -= 1
            if not inside[stem]:
                del inside[stem]
            first += 1
        score = (len(inside), last - first)
        if score > best_score:
            best, best_score = start, score
    return best


@functools.cache
def default_min_relevance() -> float:
    """relevance.yml's threshold: what searches show when min_relevance is not given."""
    try:
        return load_relevance().threshold
    except RelevanceError as e:  # `kb serve` checks the file first; a file broken since falls back
        logger.warning("%s: using the built-in threshold", e)
        return BUILTIN.threshold


def min_relevance(value) -> float:
    """A canned query's :min_relevance parameter: empty for the default threshold, 0 for everything.

    Anything but a number from 0 to 1 is an error, not a silent "show all".
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return default_min_relevance()
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"min_relevance must be a number from 0 to 1, not {value!r}") from None
    if not 0 <= number <= 1:
        raise ValueError(f"min_relevance must be a number from 0 to 1, not {value!r}")
    return number


MAX_NAMES = 100


def name_list(text) -> str:
    """A comma-separated list of names (``:people`` of the compare queries) as a JSON array
    of the trimmed, non-empty names, at most MAX_NAMES of them; any text is a valid list."""
    names = text[:MAX_QUERY_CHARS].split(",") if isinstance(text, str) else []
    return json.dumps([name.strip() for name in names if name.strip()][:MAX_NAMES])


def name_key(name: str) -> str:
    """A name as compared: accents, case, punctuation and spacing aside ("Joaquín Quiñonero" and
    "joaquin quinonero", "Andrew Y. Ng" and "andrew y ng" are one key)."""
    decomposed = unicodedata.normalize("NFKD", name[:MAX_QUERY_CHARS])
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"\w+", plain))


@functools.lru_cache(maxsize=64)
def _wanted_keys(names: str) -> frozenset[str]:
    return frozenset(name_key(name) for name in json.loads(name_list(names)))


def person_named(name, aliases, names) -> int:
    """1 when a person (``name``, ``aliases`` as people.aliases' JSON list) is one of ``names``
    (comma-separated) by name or alias, whatever their case, accents or punctuation."""
    wanted = _wanted_keys(names) if isinstance(names, str) else frozenset()
    if not wanted or not isinstance(name, str):
        return 0
    try:
        others = json.loads(aliases) if isinstance(aliases, str) else []
    except ValueError:
        others = []
    keys = {name_key(name)} | {name_key(a) for a in others if isinstance(a, str)}
    return int(not wanted.isdisjoint(keys))


def register(conn) -> None:
    conn.create_function("kb_fts_query", 1, fts_query, deterministic=True)
    conn.create_function("kb_snippet", 2, snippet, deterministic=True)
    conn.create_function("kb_min_relevance", 1, min_relevance, deterministic=True)
    conn.create_function("kb_name_list", 1, name_list, deterministic=True)
    conn.create_function("kb_person_named", 3, person_named, deterministic=True)
