"""The research UI: pages a researcher would rather use than write SQL.

Registered by the plugin (kb/web/__init__.py, ``register_routes``):

- ``/``: one search box with a mode switch, counts, the newest documents,
  people and topics;
- ``/search`` (and ``/search.json``, the same results as JSON): hits of the
  canned search queries of metadata.yml, each with its passage, a link to
  the original page at that passage, speaker and stance when it holds a
  quotation, republished copies; filters for person, topic, stance, site and
  year (counted over all hits); pages of PAGE_SIZE; only material relevant
  to the question unless ``min_relevance=0`` (the "include off-topic
  material" switch), as the canned queries' own ``min_relevance``;
- ``/people/{id}``: a person's quotations by stance and topic, their
  documents, their quotations per year;
- ``/compare?people=A,B,C``: people side by side (the compare_people query);
- ``/charts``: documents per month, quotes per person, topics per person.

Every page reads through the same canned queries the JSON API documents, so
what a page shows can be fetched by a script. Crawled text reaches the
templates as plain strings: Jinja escapes it; only ``marked()`` builds
markup, after escaping.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlencode

from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from kb import DATABASE_NAME, PLUGIN_NAME, SEARCH_QUERIES
from kb.search import sqlfunctions
from kb.web import cite as cite_module
from kb.web import curate, reader
from kb.web.reader import timestamp
from kb.web.timeline import timeline

MODES = ("hybrid", "keyword", "semantic")  # as the mode switch lists them
FILTERS = ("person", "topic", "stance", "site", "year")
PAGE_SIZE = 10
MAX_HITS = 200  # hits fetched per query; filters and pages work within them
FEED_SIZE = 50  # entries of a search's Atom feed
# A semantic or hybrid search whose best passage is less similar than this found nothing close:
# on the colah blog every one of 45 real questions has a best hit of 0.338 or more, and a dozen
# off-topic questions (sourdough, bicycle tyres) at most 0.323 (BENCHMARKS.md, "No close match").
CLOSE_MATCH = 0.33
DEFAULT_COMPARED = "Andrew Ng,Daphne Koller,Yann LeCun"
_MARKED = re.compile(r"\*\*(.+?)\*\*", re.S)


def marked(text: str | None) -> Markup:
    """Crawled text, escaped, with the search's ``**matches**`` as <mark>."""
    return Markup(_MARKED.sub(r"<mark>\1</mark>", str(escape(text or ""))))


# How the UI names each kind of statement (quotes.kind), and the kinds that are the speaker's own words.
STATEMENT_KINDS = {
    "direct": "quotation",
    "indirect": "reported statement",
    "spoken": "spoken statement",
    "comment": "comment",
}
OWN_WORDS = ("direct", "spoken", "comment")


def passage_url(url: str, passage: str, page: int | None = None) -> str:
    """Where a passage is read: a PDF opened at its page (``#page=N``, which browsers'
    PDF viewers follow), a web page scrolled to its first words."""
    return f"{url.split('#')[0]}#page={page}" if page else text_fragment_url(url, passage)


def text_fragment_url(url: str, passage: str) -> str:
    """``url`` opened at ``passage``: a text fragment (#:~:text=) of its first words."""
    words = re.findall(r"\S+", passage or "")[:8]
    if not words:
        return url
    start = quote(" ".join(words), safe="").replace("-", "%2D")  # "-" means prefix/suffix there
    return f"{url.split('#')[0]}#:~:text={start}"


async def _rows(datasette, sql: str, params: dict | None = None) -> list[dict]:
    result = await datasette.get_database(DATABASE_NAME).execute(sql, params or {})
    return [dict(row) for row in result.rows]


async def _canned(datasette, name: str, params: dict) -> list[dict]:
    query = await datasette.get_canned_query(DATABASE_NAME, name, None)
    return await _rows(datasette, query["sql"], params)


async def _render(datasette, request, template: str, context: dict, status: int = 200) -> Response:
    return Response.html(await datasette.render_template(template, context, request=request), status=status)


# Home


async def home(datasette, request) -> Response:
    counts = (
        await _rows(
            datasette,
            """
        select (select count(*) from documents) as documents,
               (select count(*) from (select 1 from quotes group by normalized_hash, kind)) as quotes,
               (select count(*) from people) as people, (select count(*) from passages) as passages
    """,
        )
    )[0]
    newest = await _rows(
        datasette,
        """
        select id, title, url, site_name, author, published, first_seen from documents
        where coalesce(relevance, 1) >= kb_min_relevance('')
        order by first_seen desc, id desc limit 8
    """,
    )
    people = await _rows(
        datasette,
        """
        select people.id, people.name, people.description, count(person_statements.kind) as quotes
        from people left join person_statements
          on person_statements.person_id = people.id and person_statements.kind != 'written'
        group by people.id order by people.verified desc, quotes desc, people.name limit 24
    """,
    )
    topics = await _rows(
        datasette,
        """
        select topics.name, count(passage_topics.passage_id) as passages
        from topics left join passage_topics on passage_topics.topic_id = topics.id
        group by topics.id order by passages desc, topics.name
    """,
    )
    return await _render(
        datasette,
        request,
        "kb_home.html",
        {
            "counts": counts,
            "newest": newest,
            "people": people,
            "topics": topics,
            "modes": MODES,
        },
    )


# Search


def _search_args(request) -> tuple[str, str, str, dict[str, str]]:
    """A search's q, mode, min_relevance (as given) and filters; ValueError saying what is wrong."""
    q = (request.args.get("q") or "").strip()
    mode = request.args.get("mode") or "hybrid"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    raw_min_relevance = (request.args.get("min_relevance") or "").strip()
    sqlfunctions.min_relevance(raw_min_relevance)  # raises ValueError for anything but a number from 0 to 1
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    return q, mode, raw_min_relevance, {name: value for name, value in filters.items() if value}


async def search(datasette, request) -> Response:
    try:
        q, mode, raw_min_relevance, filters = _search_args(request)
    except ValueError as e:
        return Response.json({"error": str(e)}, status=400)
    min_relevance = sqlfunctions.min_relevance(raw_min_relevance)
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    found = await _search_hits(datasette, q, mode, raw_min_relevance) if q else []
    hits, close_match, best = _listed(datasette, request, mode, q, found)
    wanted = await _wanted(datasette, filters)
    facets = _facet_counts(hits, wanted)
    selected = [hit for hit in hits if _matches(hit, wanted)]
    pages = max(1, -(-len(selected) // PAGE_SIZE))
    page = min(page, pages)
    shown = selected[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    data = {
        "q": q,
        "mode": mode,
        "min_relevance": min_relevance,
        "filters": filters,
        "page": page,
        "pages": pages,
        "total": len(selected),
        "results": shown,
        "facets": facets,
        "close_match": close_match,
        "best_similarity": best,
        "close_match_threshold": _close_match_threshold(datasette),
        "verified_only": bool(request.args.get("verified")),
    }
    if _wants_json(request):
        return Response.json(shown if request.args.get("_shape") == "array" else data)

    def link(**changes) -> str:
        nearest, verified = request.args.get("nearest") or "", request.args.get("verified") or ""
        params = {"q": q, "mode": mode, "min_relevance": raw_min_relevance, **filters}
        params.update({"nearest": nearest, "verified": verified, "page": page})
        params.update(changes)
        return datasette.urls.path("/search?") + urlencode(
            {k: v for k, v in params.items() if v not in (None, "", 1) or k == "q"}
        )

    return await _render(
        datasette,
        request,
        "kb_search.html",
        {
            **data,
            "feed_url": link(page=None).replace("/search?", "/search.atom?", 1),
            "modes": MODES,
            "link": link,
            "marked": marked,
            "filter_names": FILTERS,
        },
    )


def _close_match_threshold(datasette) -> float:
    """The cosine similarity below which a semantic or hybrid search's best hit is no close match:
    the plugin setting ``close_match`` (metadata.yml, plugins: kb:), else CLOSE_MATCH."""
    return float((datasette.plugin_config(PLUGIN_NAME) or {}).get("close_match", CLOSE_MATCH))


async def _matching_hits(datasette, request, q: str, mode: str, min_relevance: str, filters: dict) -> list[dict]:
    """A search's hits as its page lists them (a far search's none, verified=1's verified ones),
    with its filters applied: what its feed and its citations hold."""
    hits, _, _ = _listed(datasette, request, mode, q, await _search_hits(datasette, q, mode, min_relevance))
    wanted = await _wanted(datasette, filters)
    return [hit for hit in hits if _matches(hit, wanted)]


def _listed(datasette, request, mode: str, q: str, hits: list[dict]) -> tuple[list[dict], bool, float | None]:
    """(the hits a search lists, whether it found something close, its best similarity). With
    ``verified=1``, only passages holding a statement a curator checked; none when nothing is
    close (unless ``nearest=1`` asks for them): the page, its feed and its citations say so
    rather than list the least distant passages."""
    if request.args.get("verified"):
        hits = [hit for hit in hits if hit["verified"]]
    best = max((hit["similarity"] for hit in hits if hit["similarity"] is not None), default=None)
    close_match = _close_match(datasette, mode, q, hits, best)
    return (hits if close_match or request.args.get("nearest") else []), close_match, best


def _close_match(datasette, mode: str, q: str, hits: list[dict], best: float | None) -> bool:
    """Whether a search found something close: a keyword search always (its words are there), a
    semantic or hybrid one when a passage holds every word of the question that says something
    (a question of a word or two scores a low similarity even where it is discussed), or when the
    best similarity reaches the threshold."""
    if mode == "keyword" or not hits:
        return True
    if best is not None and best >= _close_match_threshold(datasette):
        return True
    words = [w for w in re.findall(r"\w+", q.casefold()) if w not in sqlfunctions.STOPWORDS]
    return bool(words) and any(_has_words(hit["text"], words) for hit in hits)


def _has_words(text: str, words: list[str]) -> bool:
    text = (text or "").casefold()
    return all(re.search(rf"\b{re.escape(w.removesuffix('s'))}(?:s|es)?\b", text) for w in words)


async def search_feed(datasette, request) -> Response:
    """The Atom twin of a search: its matching passages (same q, mode, filters and min_relevance),
    newest in the knowledge base first, so a feed reader shows what new material matches."""
    try:
        q, mode, raw_min_relevance, filters = _search_args(request)
    except ValueError as e:
        return Response.json({"error": str(e)}, status=400)
    if not q:
        return Response.json({"error": "a search feed needs q: the words to follow"}, status=400)
    hits = await _matching_hits(datasette, request, q, mode, raw_min_relevance, filters)
    hits.sort(key=lambda hit: (hit["first_seen"] or "", hit["passage_id"]), reverse=True)
    page_url = datasette.absolute_url(request, request.full_path.replace("/search.atom", "/search", 1))
    return Response(
        atom_feed(
            f"{q} ({mode} search)",
            page_url,
            datasette.absolute_url(request, request.full_path),
            [{**hit, "reader_url": datasette.absolute_url(request, hit["reader_url"])} for hit in hits[:FEED_SIZE]],
        ),
        content_type="application/atom+xml; charset=utf-8",
    )


def atom_feed(title: str, page_url: str, feed_url: str, hits: list[dict]) -> str:
    """An Atom document of search hits (feedgen escapes every field: crawled text stays text)."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(f"Math in ML knowledge base: {title}")
    feed.link(href=page_url, rel="alternate")
    feed.link(href=feed_url, rel="self")
    newest = max((hit["first_seen"] for hit in hits if hit["first_seen"]), default=None)
    feed.updated(_feed_time(newest) or datetime.now(timezone.utc))
    for hit in reversed(hits):  # feedgen puts each new entry first
        entry = feed.add_entry()
        entry.id(hit["reader_url"])
        entry.title(hit["title"] or hit["url"])
        entry.link(href=hit["reader_url"])
        entry.updated(_feed_time(hit["first_seen"]) or datetime.now(timezone.utc))
        if published := _feed_time(hit["published"]):
            entry.published(published)
        if hit["author"]:
            entry.author(name=hit["author"])
        entry.summary(re.sub(r"\*\*(.+?)\*\*", r"\1", hit["snippet"] or ""))
    return feed.atom_str(pretty=True).decode()


def _feed_time(value: str | None) -> datetime | None:
    """A stored date or time (2024, 2024-03, 2024-03-12, 2026-12-07T07:21:03Z) as a time Atom can
    carry (UTC when it names no zone); None when there is none or it is not a date."""
    value = (value or "").strip().replace("Z", "+00:00")
    for candidate in (value, value[:10], value[:7] + "-01", value[:4] + "-01-01"):
        try:
            moment = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


async def _search_hits(datasette, q: str, mode: str, min_relevance: str = "") -> list[dict]:
    """The canned query's hits for ``q``, each with what the results page shows and filters on."""
    hits = await _canned(
        datasette,
        SEARCH_QUERIES[mode],
        {
            "q": q,
            "limit": str(MAX_HITS),
            "keyword_weight": "",
            "semantic_weight": "",
            "min_relevance": min_relevance,
        },
    )
    if not hits:
        return []
    ids = json.dumps([hit["passage_id"] for hit in hits])
    details = {
        row["passage_id"]: row
        for row in await _rows(
            datasette,
            """
        select passages.id as passage_id, passages.seq, passages.text, passages.stance as passage_stance, passages.page,
          passages.speaker as turn_speaker, passages.seconds, passages.link as comment_url,
          (select moment_url from passage_details where passage_details.passage_id = passages.id) as moment_url,
          passages.stance_confidence as passage_confidence, passages.stance_reasons as passage_reasons,
          passages.relevance as passage_relevance, passages.relevance_reasons,
          documents.relevance as document_relevance, documents.year, documents.id as document_id,
          documents.first_seen,
          (select json_group_array(json_object('person_id', people.id, 'person', people.name,
                   'stance', quotes.stance, 'quote', quotes.quote, 'kind', quotes.kind, 'verified', quotes.verified,
                   'confidence', quotes.stance_confidence, 'reasons', json(quotes.stance_reasons)))
           from quotes left join quote_speakers on quote_speakers.quote_id = quotes.id
             left join people on people.id = quote_speakers.person_id
           where quotes.passage_id = passages.id) as quotes,
          (select json_group_array(topics.name) from passage_topics join topics on topics.id = passage_topics.topic_id
           where passage_topics.passage_id = passages.id) as topics
        from passages join documents on documents.id = passages.document_id
        where passages.id in (select value from json_each(:ids))
    """,
            {"ids": ids},
        )
    }
    results = []
    for position, hit in enumerate(hits, 1):
        detail = details.get(hit["passage_id"])
        if detail is None:
            continue
        quotes = json.loads(detail["quotes"] or "[]")
        speakers = [qt for qt in quotes if qt["person"]]
        judged = [
            {
                "of": STATEMENT_KINDS.get(qt["kind"], "reported statement"),
                "text": qt["quote"],
                "stance": qt["stance"],
                "confidence": qt["confidence"],
                "reasons": qt["reasons"],
            }
            for qt in quotes
            if qt["stance"]
        ]
        if not judged and detail["passage_stance"]:
            judged = [
                {
                    "of": "passage",
                    "text": None,
                    "stance": detail["passage_stance"],
                    "confidence": detail["passage_confidence"],
                    "reasons": json.loads(detail["passage_reasons"] or "null"),
                }
            ]
        stances = {j["stance"] for j in judged}
        results.append(
            {
                **{
                    k: hit.get(k)
                    for k in (
                        "passage_id",
                        "title",
                        "url",
                        "site_name",
                        "author",
                        "published",
                        "snippet",
                        "score",
                        "relevance",
                    )
                },
                # Which search found it and where: keyword (BM25) and semantic (meaning) ranks, and the
                # cosine similarity to the question (none for keyword search)
                "keyword_rank": hit.get("keyword_rank") or (position if mode == "keyword" else None),
                "semantic_rank": hit.get("semantic_rank") or (position if mode == "semantic" else None),
                "similarity": hit.get("similarity")
                if mode == "hybrid"
                else (hit["score"] if mode == "semantic" else None),
                "reader_url": reader_url(datasette, detail["document_id"], f"p{detail['seq']}"),
                "text": detail["text"],  # the whole passage (the snippet is a part of it)
                "link": passage_url(hit["url"], detail["text"], detail["page"]),
                "page": detail["page"],
                # A transcript's passage: who speaks in it, when, and the link that plays that moment
                "turn_speaker": detail["turn_speaker"],
                "seconds": detail["seconds"],
                "timestamp": timestamp(detail["seconds"]),
                "moment_url": detail["moment_url"],
                "comment_url": detail["comment_url"],  # a thread's passage: the comment's own page
                "document_id": detail["document_id"],
                "first_seen": detail["first_seen"],  # when the knowledge base first stored it: the feed's order
                "year": detail["year"],
                "speakers": [
                    {
                        "id": i,
                        "name": n,
                        "paraphrase": not any(s["person_id"] == i and s["kind"] in OWN_WORDS for s in speakers),
                    }
                    for n, i in sorted({(s["person"], s["person_id"]) for s in speakers})
                ],
                "stances": sorted(stances),
                "stance_reasons": judged,
                # Why the passage has none, when it has none: abstained (and from what), too short; None when
                # it was not judged (off the question)
                "no_stance_reasons": None if judged else json.loads(detail["passage_reasons"] or "null"),
                "relevance_reasons": {
                    "passage": detail["passage_relevance"],
                    "document": detail["document_relevance"],
                    "parts": json.loads(detail["relevance_reasons"] or "null"),
                },
                "topics": sorted(set(json.loads(detail["topics"] or "[]"))),
                "verified": any(qt["verified"] for qt in quotes),  # holds a statement a curator checked
                "also_published_at": json.loads(hit.get("also_published_at") or "[]"),
            }
        )
    return results


def _values(hit: dict, name: str) -> list[str]:
    """What a hit offers to filter ``name`` on, as strings."""
    if name == "person":
        return [speaker["name"] for speaker in hit["speakers"]]
    if name == "topic":
        return hit["topics"]
    if name == "stance":
        return hit["stances"]
    if name == "site":
        return [hit["site_name"]] if hit["site_name"] else []
    return [str(hit["year"])] if hit["year"] else []


async def _wanted(datasette, filters: dict[str, str]) -> dict[str, set[str]]:
    """Each filter's accepted values: the person filter takes a name or alias in any case
    (every person it names), the others their value as given."""
    wanted = {name: {value} for name, value in filters.items()}
    if "person" in filters:
        wanted["person"] = {row["name"] for row in await _people_named(datasette, filters["person"])}
    return wanted


async def _people_named(datasette, names: str) -> list[dict]:
    """The people whose name or alias is one of ``names`` (comma-separated), whatever the case or accents."""
    return await _rows(
        datasette,
        """
        select id, name, verified from people where kb_person_named(name, aliases, :names)
        order by verified desc, (select count(*) from quote_speakers where person_id = people.id) desc, name
    """,
        {"names": names},
    )


def _matches(hit: dict, wanted: dict[str, set[str]]) -> bool:
    return all(not values.isdisjoint(_values(hit, name)) for name, values in wanted.items())


def _facet_counts(hits: list[dict], wanted: dict[str, set[str]]) -> dict[str, list[tuple[str, int]]]:
    """Per filter, its values and how many hits each would keep (the other filters applied)."""
    facets = {}
    for name in FILTERS:
        others = {k: v for k, v in wanted.items() if k != name}
        counts = Counter(v for hit in hits if _matches(hit, others) for v in set(_values(hit, name)))
        facets[name] = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return facets


# People


async def person(datasette, request) -> Response:
    person_id = request.url_vars["id"]
    if not person_id.isdigit():  # a name or alias: /people/yann%20lecun
        named = await _people_named(datasette, unquote(person_id).replace(",", " "))
        if not named:
            return await _missing(datasette, request, f"person named {unquote(person_id)!r}")
        suffix = request.url_vars.get("format") or ""
        return Response.redirect(datasette.urls.path(f"/people/{named[0]['id']}{suffix}"))
    if int(person_id) >= 2**63:  # beyond SQLite's integers
        return await _missing(datasette, request, "such person")
    person_id = int(person_id)
    rows = await _rows(datasette, "select * from people where id = :id", {"id": person_id})
    if not rows:
        return await _missing(datasette, request, f"person {person_id}")
    quotes = await _rows(
        datasette,
        """
        select quotes.id, quotes.quote, quotes.kind, quotes.cue, quotes.stance, quotes.stance_confidence,
          quotes.stance_reasons, documents.title, documents.url, documents.id as document_id,
          documents.published, documents.year, passages.text as passage, passages.page,
          coalesce(passages.link, (select moment_url from passage_details
                                   where passage_details.passage_id = quotes.passage_id)) as anchor,
          (select group_concat(topics.name, ', ') from passage_topics join topics on topics.id = passage_topics.topic_id
           where passage_topics.passage_id = quotes.passage_id) as topics
        from quote_speakers join quotes on quotes.id = quote_speakers.quote_id
          join documents on documents.id = quotes.document_id
          left join passages on passages.id = quotes.passage_id
        where quote_speakers.person_id = :id
        order by quotes.stance is null, quotes.stance, documents.published
    """,
        {"id": person_id},
    )
    for row in quotes:
        row["reader_url"] = reader_url(datasette, row["document_id"], f"q{row['id']}")
    # stance -> topic -> (kind, statement text) -> its sources (a republished statement is listed once)
    by_stance: dict[str, dict[str, dict[tuple[str, str], list[dict]]]] = {}
    for row in quotes:
        topic = (row["topics"] or "no math topic").split(", ")[0]
        sources = by_stance.setdefault(row["stance"] or "no stance", {}).setdefault(topic, {})
        sources.setdefault((row["kind"], row["quote"]), []).append(
            {
                **row,
                "link": row["anchor"] or passage_url(row["url"], row["quote"], row["page"]),
                "reasons": json.loads(row["stance_reasons"] or "null"),
            }
        )
    # Their distinct statements (person_statements: a republished one once), for the timeline; the
    # summary counts those that are not passages they wrote.
    over_time = await _rows(
        datasette,
        """
        select person_statements.kind, person_statements.stance, person_statements.published,
          person_statements.text, person_statements.quote_id, passages.document_id, passages.seq as passage_seq
        from person_statements left join passages on passages.id = person_statements.passage_id
        where person_statements.person_id = :id
    """,
        {"id": person_id},
    )
    distinct = [row for row in over_time if row["kind"] != "written"]
    stance_counts = Counter(row["stance"] or "no stance" for row in distinct)
    documents = await _rows(
        datasette,
        """
        select id, title, url, site_name, published from documents where author_id = :id order by published desc
    """,
        {"id": person_id},
    )
    # A statement's year is its earliest copy's (person_statements keeps that copy), not a reprint's.
    per_year = Counter(int(row["published"][:4]) for row in distinct if (row["published"] or "")[:4].isdigit())
    if _wants_json(request):
        return Response.json(
            {
                "person": rows[0],
                "stance_counts": dict(stance_counts),
                "quote_count": sum(row["kind"] in OWN_WORDS for row in distinct),
                "reported_count": sum(row["kind"] == "indirect" for row in distinct),
                "statements": [_statement(row) for row in quotes],
                "documents": documents,
                "per_year": {str(year): per_year[year] for year in sorted(per_year)},
            }
        )
    views = timeline(
        [{**row, "link": _statement_reader_url(datasette, row)} for row in over_time], await stances_judged(datasette)
    )
    return await _render(
        datasette,
        request,
        "kb_person.html",
        {
            "timeline": views,
            "curator": await curate.is_curator(datasette, request),
            "person": rows[0],
            "by_stance": by_stance,
            "stance_counts": stance_counts,
            "quote_count": sum(row["kind"] in OWN_WORDS for row in distinct),
            "reported_count": sum(row["kind"] == "indirect" for row in distinct),
            "documents": documents,
            "per_year": [{"label": str(year), "value": per_year[year]} for year in sorted(per_year)],
        },
    )


async def compare(datasette, request) -> Response:
    names = request.args.get("people")
    names = DEFAULT_COMPARED if names is None else names
    rows = await _canned(datasette, "compare_people", {"people": names})
    statements = await _canned(datasette, "compare_statements", {"people": names})
    verified_only = bool(request.args.get("verified"))
    if verified_only:  # only what curators checked: the counts are of those statements
        statements = [st for st in statements if st["verified"]]
        counted = Counter((st["person"], st["stance"]) for st in statements)
        rows = [{**row, "statements": counted[row["person"], row["stance"]]} for row in rows]
        rows = [row for row in rows if row["statements"]]
    by_stance: dict[tuple[str, str], list[dict]] = {}
    for statement in statements:  # oldest first
        statement["reasons"] = json.loads(statement["stance_reasons"] or "null")
        statement["reader_url"] = _statement_reader_url(datasette, statement)
        by_stance.setdefault((statement["person"], statement["stance"]), []).append(statement)
    columns: dict[str, dict] = {}
    for row in rows:
        column = columns.setdefault(
            row["person"], {"person": row["person"], "person_id": row.get("person_id"), "stances": []}
        )
        column["stances"].append({**row, "by_date": by_stance.get((row["person"], row["stance"]), [])})
    if _wants_json(request):
        return Response.json({"people": names, "verified_only": verified_only, "columns": list(columns.values())})
    stances = await stances_judged(datasette)
    for column in columns.values():
        said = [{**st, "link": st["reader_url"]} for st in statements if st["person"] == column["person"]]
        column["timeline"] = timeline(said, stances, width=420)
    unknown = [
        name.strip() for name in names.split(",") if name.strip() and not await _people_named(datasette, name.strip())
    ]
    all_people = await _rows(datasette, "select id, name from people order by verified desc, name")
    return await _render(
        datasette,
        request,
        "kb_compare.html",
        {
            "names": names,
            "columns": list(columns.values()),
            "all_people": all_people,
            "unknown": unknown,
            "verified_only": verified_only,
        },
    )


async def charts(datasette, request) -> Response:
    context = {}
    for name in ("documents_per_month", "quotes_per_person", "topics_per_person"):
        context[name] = await _canned(datasette, name, {"min_relevance": ""})
    if _wants_json(request):
        return Response.json(context)
    return await _render(datasette, request, "kb_charts.html", context)


def _statement(row: dict) -> dict:
    """One of a person's statements as the person page's JSON lists it."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "text": row["quote"],
        "stance": row["stance"],
        "confidence": row["stance_confidence"],
        "reasons": json.loads(row["stance_reasons"] or "null"),
        "topics": row["topics"].split(", ") if row["topics"] else [],
        "title": row["title"],
        "url": row["url"],
        "published": row["published"],
        "link": row["anchor"] or passage_url(row["url"], row["quote"], row["page"]),
        "reader_url": row["reader_url"],
    }


# Reader


async def document(datasette, request) -> Response:
    """A stored document read here (kb/web/reader.py): its text with statements and anchors,
    provenance, earlier versions and copies."""
    document_id = request.url_vars["id"]
    if not document_id.isdigit() or int(document_id) >= 2**63:
        return await _missing(datasette, request, "such document")
    rows = await _rows(
        datasette,
        """
        select id, url, fetched_url, source, title, author, published, site_name, language, description, text,
          word_count, first_seen, last_fetched, last_changed, status, work_id, media_type, media_url, relevance,
          analysis_note
        from documents where id = :id
    """,
        {"id": int(document_id)},
    )
    if not rows:
        return await _missing(datasette, request, f"document {document_id}")
    doc = rows[0]
    passages = await _rows(
        datasette,
        """
        select passages.id, passages.seq, passages.char_start, passages.char_end, passages.page,
          passages.seconds, passages.end_seconds, passages.speaker, passages.link, passages.stance,
          passage_details.moment_url
        from passages join passage_details on passage_details.passage_id = passages.id
        where passages.document_id = :id order by passages.seq
    """,
        {"id": doc["id"]},
    )
    statements = reader.statements_by_id(
        await _rows(
            datasette,
            """
        select quotes.id, quotes.kind, quotes.quote, quotes.char_start, quotes.char_end, quotes.stance,
          quotes.stance_confidence, quotes.stance_reasons, quotes.speaker_mention, quotes.cue,
          quotes.verified, quotes.corrected,
          passages.seq as passage_seq, people.id as person_id, people.name as person
        from quotes left join passages on passages.id = quotes.passage_id
          left join quote_speakers on quote_speakers.quote_id = quotes.id
          left join people on people.id = quote_speakers.person_id
        where quotes.document_id = :id
    """,
            {"id": doc["id"]},
        )
    )
    revisions = await _rows(
        datasette,
        "select id, title, text, replaced_at from revisions where document_id = :id",
        {"id": doc["id"]},
    )
    copies = await _rows(
        datasette,
        """
        select id, url, title, site_name, published, status from documents
        where work_id = :work and id != :id order by published is null, published, id
    """,
        {"work": doc["work_id"], "id": doc["id"]},
    )
    diffs = reader.revision_diffs(doc, revisions)
    if _wants_json(request):
        plain_passages = [{k: v for k, v in p.items() if k != "id"} | {"passage_id": p["id"]} for p in passages]
        return Response.json(
            {
                "document": doc,
                "passages": plain_passages,
                "statements": statements,
                "revisions": diffs,
                "copies": copies,
            }
        )
    return await _render(
        datasette,
        request,
        "kb_document.html",
        {
            "doc": doc,
            "paragraphs": reader.reader_html(doc["text"], passages, statements),
            "statements": statements,
            "kinds": STATEMENT_KINDS | {"question": "question"},
            "revisions": diffs,
            "copies": copies,
            "original": passage_url,
            "curator": await curate.is_curator(datasette, request),
            "stances": await stances_judged(datasette),
        },
    )


# Citations


async def cite(datasette, request) -> Response:
    """/cite.bib, /cite.ris, /cite.csl.json: of ``document=ID``, ``statement=ID``, or a page of
    search results (the search's own parameters): its documents, in the order found."""
    style = request.url_vars["style"]
    document_id, statement_id = request.args.get("document"), request.args.get("statement")
    if document_id is not None or statement_id is not None:
        wanted = document_id if document_id is not None else statement_id
        if not wanted.isdigit() or int(wanted) >= 2**63:
            return Response.json({"error": "document and statement take the number of one"}, status=400)
        items = await (_cite_document if document_id is not None else _cite_statement)(datasette, request, int(wanted))
        if items is None:
            what = "document" if document_id is not None else "statement"
            return await _missing(datasette, request, f"{what} {wanted}")
    else:
        try:
            q, mode, raw_min_relevance, filters = _search_args(request)
        except ValueError as e:
            return Response.json({"error": str(e)}, status=400)
        if not q:
            return Response.json({"error": "cite document=ID, statement=ID, or a search's q"}, status=400)
        items = await _cite_results(datasette, request, q, mode, raw_min_relevance, filters)
    if style == "bib":
        body = cite_module.to_bibtex(items)
    elif style == "ris":
        body = cite_module.to_ris(items)
    else:
        body = json.dumps(items, ensure_ascii=False, indent=2)
    filename = f"kb-citation.{style}"
    return Response(
        body,
        content_type=f"{cite_module.FORMATS[style]}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def _cited_documents(datasette, ids: list[int]) -> dict[int, dict]:
    """What a citation says of each document in ``ids``, by id."""
    rows = await _rows(
        datasette,
        "select id, url, title, author, site_name, published, last_fetched from documents "
        "where id in (select value from json_each(:ids))",
        {"ids": json.dumps(ids)},
    )
    return {row["id"]: row for row in rows}


async def _cite_document(datasette, request, document_id: int) -> list[dict] | None:
    doc = (await _cited_documents(datasette, [document_id])).get(document_id)
    copy = datasette.absolute_url(request, reader_url(datasette, document_id))
    return [cite_module.document_item(doc, copy)] if doc else None


async def _cite_statement(datasette, request, statement_id: int) -> list[dict] | None:
    rows = await _rows(
        datasette,
        """
        select quotes.id, quotes.kind, quotes.quote, quotes.document_id, quotes.speaker_mention,
          (select group_concat(people.name, ' and ') from quote_speakers join people on people.id = quote_speakers.person_id
           where quote_speakers.quote_id = quotes.id) as speaker
        from quotes where quotes.id = :id
    """,
        {"id": statement_id},
    )
    if not rows:
        return None
    statement = rows[0]
    statement["speaker"] = statement["speaker"] or statement["speaker_mention"]
    doc = (await _cited_documents(datasette, [statement["document_id"]]))[statement["document_id"]]
    copy = datasette.absolute_url(request, reader_url(datasette, doc["id"], f"q{statement_id}"))
    return [cite_module.statement_item(statement, doc, copy)]


async def _cite_results(datasette, request, q, mode, raw_min_relevance, filters) -> list[dict]:
    """The documents of one page of a search's results (page=N), each once, in the order found."""
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    hits = await _matching_hits(datasette, request, q, mode, raw_min_relevance, filters)
    shown = hits[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    first_hit = {}
    for hit in shown:
        first_hit.setdefault(hit["document_id"], hit)
    by_id = await _cited_documents(datasette, list(first_hit))
    return [
        cite_module.document_item(by_id[doc_id], datasette.absolute_url(request, hit["reader_url"]))
        for doc_id, hit in first_hit.items()
        if doc_id in by_id
    ]


def _statement_reader_url(datasette, statement: dict) -> str:
    """A person_statements row's place in the reader: the statement, or the passage they wrote."""
    anchor = f"q{statement['quote_id']}" if statement["quote_id"] else f"p{statement['passage_seq']}"
    return reader_url(datasette, statement["document_id"], anchor)


async def stances_judged(datasette) -> list[str]:
    """The stances judged so far, in a fixed order (so each keeps its colour from page to page)."""
    rows = await _rows(
        datasette,
        "select stance from quotes where stance is not null union select stance from passages where stance is not null",
    )
    return sorted(row["stance"] for row in rows)


def reader_url(datasette, document_id: int, anchor: str = "") -> str:
    """Where a document is read in the knowledge base, at ``anchor`` (``p{seq}``, ``q{id}``)."""
    return datasette.urls.path(f"/documents/{document_id}") + (f"#{anchor}" if anchor else "")


def _wants_json(request) -> bool:
    return request.url_vars.get("format") == ".json"


async def _missing(datasette, request, what: str) -> Response:
    if _wants_json(request):
        error = {"ok": False, "error": f"There is no {what} in this knowledge base.", "status": 404}
        return Response.json(error, status=404)
    return await _render(datasette, request, "kb_missing.html", {"what": what}, status=404)


# Every page but the home page has a JSON twin: the same data, `.json` added to the path.
ROUTES = [
    (r"^/$", home),
    (r"^/search(?P<format>\.json)?$", search),
    (r"^/search\.atom$", search_feed),
    (r"^/people/(?P<id>[^/]+?)(?P<format>\.json)?$", person),
    (r"^/compare(?P<format>\.json)?$", compare),
    (r"^/charts(?P<format>\.json)?$", charts),
    (r"^/documents/(?P<id>[^/]+?)(?P<format>\.json)?$", document),
    (r"^/cite\.(?P<style>bib|ris|csl\.json)$", cite),
]
