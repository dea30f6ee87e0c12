"""`kb analyze`: turn crawled text into knowledge (people, works, ...).

Runs after every crawl and on demand; each step reads the documents and
writes its own tables through kb.storage, so running it twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import schema, storage
from ..progress import Progress
from . import cues, nlp, people, quotes, reported, speakers, statements, textblocks
from . import relevance as relevance_module
from . import stance as stance_module
from . import topics as topics_module
from .nlp import check_pipeline, pipeline_signature
from .people import DEFAULT_PEOPLE_FILE, Directory, load_people, mentions_pattern, parse_entry, searchable
from .quotes import DocumentText, extract_many
from .relevance import (
    DEFAULT_RELEVANCE_FILE,
    DOCUMENT_TOP_PASSAGES,
    MathNearML,
    RelevanceScorer,
    TermMatcher,
    document_score,
    language_flag,
    load_relevance,
    training_texts,
)
from .stance import DEFAULT_STANCES_FILE, Judgement, StanceClassifier, load_stances
from .topics import DEFAULT_TOPICS_FILE, Topic, load_topics, tag
from .works import COPIES_DIGEST, band_keys, components, is_copy, shingles

# The modules whose code decides what statements a document has (statements_digest).
STATEMENT_RULES = (cues, nlp, people, quotes, reported, speakers, statements, textblocks)
# Documents from which parsing in worker processes pays for their start (a few seconds), and how many.
PARALLEL_FROM = 200
PARSERS = min(2, os.cpu_count() or 1)
# Candidates' shingle sets kept while comparing a batch of documents (about 100 kB each).
KNOWN_TEXTS = 2000


@dataclass
class AnalyzeReport:
    people: int
    works: int
    republished: int  # works with more than one copy
    quotes: int  # statements: quotations and reported speech
    attributed: int  # statements given to a person
    reported: int  # of them reported speech
    cut: int  # documents whose attribution was cut short (kb.analysis.quotes.MAX_PARSE_CHARS)
    tagged_passages: int
    stances: int | None  # passages and quotes with a stance; None: no vectors yet
    relevant: tuple[int, int] | None = None  # (relevant documents, scored documents); None: no vectors yet
    derived: int = 0  # documents whose statements were derived in this analysis
    left: int = 0  # documents left for the next analysis (time budget)
    judged: int = 0  # passages and quotes whose stance was judged in this analysis
    corrections: tuple[int, int] = (0, 0)  # curators' corrections (applied, flagged for review)

    def summary(self) -> str:
        stances = (
            "stances skipped (no vectors: run kb embed)"
            if self.stances is None
            else f"{self.stances} passages and quotes with a stance ({self.judged} judged in this analysis)"
        )
        relevance = (
            "relevance skipped (no vectors: run kb embed)"
            if self.relevant is None
            else f"{self.relevant[0]} of {self.relevant[1]} documents relevant"
        )
        left = f", {self.left} left for the next analysis (time budget)" if self.left else ""
        return (
            f"analyzed: statements of {self.derived} new or changed documents derived{left}; {self.people} people, {self.works} works ({self.republished} published more than once), "
            f"{self.quotes} statements ({self.quotes - self.reported} quotations, {self.reported} reported; "
            f"{self.attributed} attributed to people{f'; {self.cut} documents cut short' if self.cut else ''}), "
            f"{self.tagged_passages} passages with math topics, "
            f"{stances}, {relevance}{self._corrections()}"
        )

    def _corrections(self) -> str:
        applied, review = self.corrections
        if not applied and not review:
            return ""
        flagged = f", {review} flagged for review (their statement changed)" if review else ""
        return f"; curators' corrections: {applied} applied{flagged}"


def check_config(
    people_path: str | Path = DEFAULT_PEOPLE_FILE,
    topics_path: str | Path = DEFAULT_TOPICS_FILE,
    stances_path: str | Path = DEFAULT_STANCES_FILE,
    relevance_path: str | Path = DEFAULT_RELEVANCE_FILE,
) -> None:
    """Load the hand-edited files; YamlFileError (naming file and line) if one is wrong,
    PipelineError if the spaCy pipeline is missing."""
    check_pipeline()
    load_people(people_path)
    load_topics(topics_path)
    load_stances(stances_path)
    load_relevance(relevance_path, topics_path)


def _digest(config: str, modules) -> str:
    """A short digest of a configuration (its repr) and the source code of the modules that use it."""
    digest = hashlib.sha256(config.encode())
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:32]


def statements_digest() -> str:
    """What every document's statements depend on besides the document and people.yml: the parser
    and the code of the rules (an upgrade that changes them derives everything again). people.yml is
    followed person by person (follow_people)."""
    return _digest(pipeline_signature(), STATEMENT_RULES)


def people_digest(people: list) -> str:
    """What a document's statements read of people.yml, all of it: a worker's derivation is kept by a
    writer with the same (kb.analysis.derive)."""
    return _digest(repr([parse_entry(person) for person in people]), [])


def follow_people(db, people: list) -> int:
    """Make the stored statements follow people.yml: the documents derived with the current rules
    that name (by a name, alias or sign-off, old or new) a person whose entry changed since they were
    derived are marked to be derived again, and ``people`` recorded as what statements are derived
    with. How many documents were marked.

    Extraction reads people.yml only through names it finds in the document
    or its byline, so a document naming no changed person derives as before.
    """
    before = storage.parsed_people(db)
    now = {person.name: parse_entry(person) for person in people}
    if before == now:
        return 0
    changed = {name for name in before.keys() | now.keys() if before.get(name) != now.get(name)}
    entries = [entry for name in changed for entry in (before.get(name), now.get(name)) if entry]
    pattern = mentions_pattern(name for n, aliases, signoff, _ in entries for name in (n, *aliases, signoff or ""))
    stale = []
    if pattern is not None:
        for batch in storage.texts_derived_with(db, statements_digest()):
            stale += [i for i, text, author in batch if pattern.search(searchable(f"{author}\n{text}"))]
    storage.follow_people(db, now.values(), stale)
    return len(stale)


def topics_digest(topics: list) -> str:
    """What a distributed crawl's worker tagged passages with: topics.yml's topics and the tagger (a
    writer keeps a worker's topics only when its own digest is the same)."""
    return _digest(repr(topics), [topics_module])


def tagger_digest() -> str:
    """What every stored passage's topics depend on besides its text and the topics it was tagged with,
    which follow_topics follows topic by topic: the tagger's code."""
    return _digest("", [topics_module])


def follow_topics(db, topics: list, digest: str) -> dict[str, int]:
    """Make the stored topics follow topics.yml: the passages tagged with ``digest`` (tagger_digest) that hold a
    term of a topic added, removed or changed since are marked to be tagged again, and the topics
    recorded (a topic gone takes its rows with it), in one transaction; topic name -> id.

    Each topic is counted on its own, so a passage holding no term of a
    changed topic is tagged as before: adding a topic tags again the
    passages that name its terms, not the whole knowledge base.
    """
    before = storage.topic_terms(db)
    now = {topic.name: topic.terms for topic in topics}
    changed = {name for name in before.keys() | now.keys() if before.get(name) != now.get(name)}
    terms = tuple(term for name in changed for term in (*before.get(name, ()), *now.get(name, ())))
    stale = []
    if terms:
        pattern = Topic("changed", terms).pattern  # any term of the changed topics, before or after
        for batch in storage.passages_derived_with(db, "topics_key", digest):
            stale += [passage_id for passage_id, text in batch if pattern.search(text)]
    return storage.follow_topics(db, topics, stale)


def analyze(
    db_path: str | Path,
    people_path: str | Path = DEFAULT_PEOPLE_FILE,
    topics_path: str | Path = DEFAULT_TOPICS_FILE,
    stances_path: str | Path = DEFAULT_STANCES_FILE,
    relevance_path: str | Path = DEFAULT_RELEVANCE_FILE,
    *,
    everything: bool = False,
    deadline: float | None = None,
    progress: bool = False,
) -> AnalyzeReport:
    """Derive what changed since the last analysis (``everything``: all of it again).

    Statements are derived once per version of a document and configuration,
    topics once per version of a passage and topics.yml, copies and relevance
    only for new and changed documents and vectors, stances once per group of
    copies whose members, vectors or stances.yml changed. With
    a ``deadline`` (time.monotonic()) the statements step stops between
    documents once it has passed; the next analysis goes on from there.
    """
    check_pipeline()  # config errors before anything is written
    people = load_people(people_path)
    topics = load_topics(topics_path)
    stance_set = load_stances(stances_path)
    relevance = load_relevance(relevance_path, topics_path)
    db = storage.open_db(db_path)
    try:
        if everything:
            storage.forget_analysis(db)
        storage.save_people(db, people)
        groups = _derive_copies(db)
        storage.save_works(db, groups)
        derived, left = _derive_statements(db, people, deadline, progress)
        storage.prune_people(db)
        _derive_topics(db, topics)
        embedder = _embedder_of(db)
        relevant, rescored = _relevance(db, relevance, embedder) if embedder else (None, [])
        counts = storage.statement_counts(db)
        judged = _stances(db, stance_set, embedder, relevance.threshold, rescored) if embedder else 0
        if embedder:
            storage.prune_example_vectors(db, embedder.name, _example_hashes(relevance, stance_set))
        corrections = storage.apply_corrections(db)  # last: what curators said outlasts every analysis
        return AnalyzeReport(
            people=db["people"].count,
            works=len(groups),
            republished=sum(len(g) > 1 for g in groups),
            quotes=counts["statements"],
            attributed=counts["attributed"],
            reported=counts["reported"],
            cut=counts["cut"],
            tagged_passages=counts["tagged_passages"],
            stances=storage.stance_count(db) if embedder else None,
            relevant=relevant,
            derived=derived,
            left=left,
            judged=judged,
            corrections=corrections,
        )
    finally:
        db.close()


def _derive_statements(db, people: list, deadline: float | None, progress: bool) -> tuple[int, int]:
    """Statements, speakers and authors of the documents whose version or configuration changed;
    (documents derived, documents left for the next analysis by the deadline)."""
    follow_people(db, people)
    digest = statements_digest()
    pending = storage.documents_to_derive(db, digest)
    if not pending:
        return 0, 0
    directory = Directory(people)
    read = []  # (id, content_hash) of the documents handed to the parser, in order

    def documents():
        for row in storage.documents_by_id(db, pending):
            read.append((row["id"], row["content_hash"]))
            yield document_text(row["text"], row["author"], row["links"], row["segments"])

    processes = PARSERS if len(pending) >= PARALLEL_FROM else 1
    bar = Progress(len(pending), "documents", "analysed", enabled=progress)
    derived = 0
    try:
        for found in extract_many(documents(), directory, processes=processes):
            document_id, content_hash = read[derived]
            author = found.author.name if found.author else None
            records = [statement_record(q) for q in found.quotes]
            storage.save_quotes(db, document_id, records, author, found.note, f"{digest}:{content_hash}")
            derived += 1
            bar.update(1)
            if deadline is not None and time.monotonic() > deadline:
                break
    finally:
        bar.close()
    return derived, len(pending) - derived


def document_text(text: str, author: str | None, links: str | None, segments: str | None = None) -> DocumentText:
    """What the parser reads of a document: its text, its author as extracted, and its links and a
    transcript's turns as stored (documents.links, documents.segments: JSON)."""
    return DocumentText(text, author, json.loads(links) if links else [], json.loads(segments) if segments else None)


def _derive_copies(db, batch_size: int = 500) -> list[list[int]]:
    """Works: the new and changed documents hashed (unless a distributed crawl's worker did) and
    compared with their candidates (stored band keys), then the groups of every confirmed pair."""
    storage.forget_copies_of_unlisted(db)
    pending = storage.documents_to_compare(db, COPIES_DIGEST)
    for start in range(0, len(pending), batch_size):
        rows = {row["id"]: row for row in storage.documents_by_id(db, pending[start : start + batch_size])}
        # Shingles by content_hash, for this batch: a text republished many times is a candidate many times.
        known = {row["content_hash"]: shingles(row["text"]) for row in rows.values()}
        versions = {doc_id: f"{COPIES_DIGEST}:{row['content_hash']}" for doc_id, row in rows.items()}
        storage.save_band_keys(
            db,
            {
                doc_id: (versions[doc_id], band_keys(known[row["content_hash"]]))
                for doc_id, row in rows.items()
                if row["bands_key"] != versions[doc_id]
            },
        )
        own = dict(known)
        for doc_id, row in rows.items():
            candidates = storage.copy_candidates(db, doc_id)
            if len(known) > len(own) + KNOWN_TEXTS:  # memory stays bounded
                known = dict(own)
            unknown = {text_hash: other for other, text_hash in candidates.items() if text_hash not in known}
            for other in storage.documents_by_id(db, sorted(unknown.values())):
                known[candidates[other["id"]]] = shingles(other["text"])
            found = known[row["content_hash"]]
            verdicts = {text_hash: is_copy(found, known[text_hash]) for text_hash in set(candidates.values())}
            copies = [other for other, text_hash in candidates.items() if verdicts[text_hash]]
            storage.save_copy_pairs(db, doc_id, copies, versions[doc_id])
    return components(storage.ok_document_ids(db), storage.copy_pairs(db))


def _derive_topics(db, topics: list) -> None:
    """Tag the passages whose text changed since they were tagged, or that hold a term of a topic
    that changed."""
    digest = tagger_digest()
    topic_ids = follow_topics(db, topics, digest)
    for batch in storage.passages_to_tag(db, digest):
        found = {pid: names for pid, text, _ in batch if (names := tag(text, topics))}
        storage.save_passage_topics(db, topic_ids, digest, [(pid, h) for pid, _, h in batch], found)


def analyze_and_record(
    db_path: str | Path,
    people_path: str | Path = DEFAULT_PEOPLE_FILE,
    topics_path: str | Path = DEFAULT_TOPICS_FILE,
    stances_path: str | Path = DEFAULT_STANCES_FILE,
    relevance_path: str | Path = DEFAULT_RELEVANCE_FILE,
    only_if_changed: bool = False,
    *,
    everything: bool = False,
    deadline: float | None = None,
    progress: bool = False,
) -> tuple[str, int]:
    """Run ``analyze`` and record what it read (in ``analyses``); the summary, and how many documents
    the deadline left for the next analysis.

    ``only_if_changed`` skips it when neither the database's documents and
    vectors nor the configuration files changed since the last complete
    analysis: what makes a re-crawl of an unchanged site cheap (the analysis
    loads the embedding model to judge quotes). An analysis the deadline cut
    short is not recorded, so the next one goes on.
    """
    db = storage.open_db(db_path)
    try:
        files = b"".join(
            Path(p).read_bytes() for p in (people_path, topics_path, stances_path, relevance_path) if Path(p).is_file()
        )
        parser = pipeline_signature().encode()
        signature = hashlib.sha256(files + parser + storage.analysis_inputs(db).encode()).hexdigest()
        last = storage.last_analysis(db)
    finally:
        db.close()
    if only_if_changed and not everything and last and last["input_signature"] == signature:
        return f"analysis up to date (nothing changed since {last['finished']})", 0
    report = analyze(
        db_path,
        people_path,
        topics_path,
        stances_path,
        relevance_path,
        everything=everything,
        deadline=deadline,
        progress=progress,
    )
    summary = report.summary()
    if not report.left:
        db = storage.open_db(db_path)
        try:
            storage.record_analysis(db, signature, summary)
        finally:
            db.close()
    return summary, report.left


def statement_record(quote) -> dict:
    """A statement as storage.save_quotes takes it."""
    return {
        "quote": quote.quote,
        "kind": quote.kind,
        "char_start": quote.start,
        "char_end": quote.end,
        "speakers": [p.name for p in quote.people],
        "pseudonyms": [p.name for p in quote.people if p.pseudonym],
        "speaker_mention": quote.speaker_mention,
        "speaker_start": quote.speaker_start,
        "speaker_end": quote.speaker_end,
        "speaker_type": quote.speaker_type,
        "cue": quote.cue,
        "cue_start": quote.cue_start,
        "cites_url": quote.cites,
    }


def _embedder_of(db):
    """The model of the stored vectors (loaded when first used); None until the passages have
    vectors of one model."""
    models = storage.embedding_models(db)
    return _ModelOfVectors(models[0]["model"]) if len(models) == 1 else None


class _ModelOfVectors:
    """An embedding model loaded on first use, its name known before: an analysis with nothing
    to score or judge (a cron run after an unchanged crawl) never loads it."""

    def __init__(self, name: str):
        from embeddings.model import model_name

        self.name = model_name(name)
        self._model = None

    def __getattr__(self, attribute: str):
        if self._model is None:
            from embeddings.model import get_embedder

            self._model = get_embedder(self.name)
        return getattr(self._model, attribute)


def relevance_digest(config, model: str) -> str:
    """What every relevance score depends on besides the passage's vector and text, and besides the
    math terms, which follow_math_terms follows term by term: the rest of relevance.yml, the model,
    and what the math terms make of the texts the classifier learns from (so a term that changes
    the classifier scores everything again)."""
    lexical = MathNearML(config)
    learned_from = [lexical(text) for text in training_texts(config)]
    return _digest(repr(replace(config, math_terms=())) + model + repr(learned_from), [relevance_module])


def follow_math_terms(db, config, digest: str) -> int:
    """Make the stored relevance scores follow the math terms (relevance.yml's and topics.yml's): the
    passages scored with ``digest`` that hold a term added or removed since are marked to be scored
    again, and the terms recorded. How many passages were marked.

    The lexical feature reads a text only through the terms found in it, so
    a passage holding none of the changed terms scores as before: adding a
    topic to topics.yml scores again the passages that name its terms, not
    the whole knowledge base.
    """
    before, now = storage.scored_math_terms(db), set(config.math_terms)
    if before == now:
        return 0
    changed = TermMatcher(tuple(before ^ now))
    stale = []
    for batch in storage.passages_derived_with(db, "relevance_key", digest):
        stale += [passage_id for passage_id, text in batch if changed.offsets(text)]
    storage.follow_math_terms(db, now, stale)
    return len(stale)


def _relevance(db, config, embedder) -> tuple[tuple[int, int], list[int]]:
    """Score the passages whose vector changed (from their stored vectors) and the documents whose
    text or passages changed, each with its reasons; (relevant, scored) documents, and the
    documents scored again."""
    scorer = None  # built on the first passage to score, from the examples' kept vectors (example_vectors)
    digest = relevance_digest(config, embedder.name)
    follow_math_terms(db, config, digest)
    touched = set(storage.clear_relevance_without_vectors(db))
    for batch in storage.passages_to_score(db, digest):
        scorer = scorer or RelevanceScorer(config, _KeptVectors(db, "example_vectors", embedder))
        texts = [row[2] for row in batch]
        vectors = np.frombuffer(b"".join(row[3] for row in batch), dtype="<f4").reshape(len(batch), -1)
        scores = scorer.score_passages(texts, vectors)
        reasons = scorer.explain(texts, vectors, scores)
        storage.save_passage_relevance(
            db, digest, [(row[0], row[4], score, why) for row, score, why in zip(batch, scores, reasons)]
        )
        touched.update(row[1] for row in batch)
    documents = sorted(touched | set(storage.documents_to_score(db, digest)))
    rows = []
    for document_id, text, language, best in storage.documents_for_relevance(db, documents, DOCUMENT_TOP_PASSAGES):
        reasons = (
            {
                "by": f"mean of its best {len(best)} passages",
                "passages": [{"passage_id": p, "score": s} for s, p in best],
            }
            if best
            else None
        )
        rows.append((document_id, document_score([s for s, _ in best]), language_flag(text, language), reasons))
        if len(rows) >= 1000:
            storage.save_document_relevance(db, digest, rows)
            rows = []
    storage.save_document_relevance(db, digest, rows)
    return storage.relevance_counts(db, config.threshold), documents


def stance_digest(stance_set, model: str) -> str:
    """What every stance depends on besides the texts and vectors judged: stances.yml, the model and
    the classifier."""
    return _digest(repr(stance_set) + model, [stance_module])


def _stances(db, stance_set, embedder, threshold: float, rescored: list[int], batch_size: int = 1000) -> int:
    """Judge the stance of passages relevant to the question (from their stored vectors) and of the
    statements in them, each with its reasons; only groups of copies whose members, vectors or
    stances.yml changed, and of a group that only grew, only its new members.

    Passages and statements off the question take no stance on it, and are
    not encoded at all (news quotes about elections have no view on how much
    math ML needs, and encoding them was most of the cost). Copies of one
    text (a republished passage or quotation, compared without case and
    spacing) get one judgement: the most confident of theirs. Rows of the
    documents whose relevance was ``rescored`` and that are now off the
    question lose their stance. Returns how many rows were judged.
    """
    classifier = None  # built for the first group to judge, from the examples' kept vectors (example_vectors)
    statement_encoder = _KeptVectors(db, "statement_vectors", embedder)
    digest = stance_digest(stance_set, embedder.name)
    judged = 0
    for table in ("passages", "quotes"):
        storage.clear_stances_off_question(db, table, threshold, rescored)
        for batch in _batches_of_groups(_groups_to_judge(db, table, digest, threshold), batch_size):
            classifier = classifier or StanceClassifier(stance_set, _KeptVectors(db, "example_vectors", embedder))
            found, count = _judge_groups(db, classifier, statement_encoder, table, batch)
            storage.save_stances(db, table, found)
            judged += count
    storage.prune_statement_vectors(db, embedder.name)
    return judged


class _Group(NamedTuple):
    """A group of copies to judge: its members, the key they will carry, and those of them whose
    stored judgement stands (``kept``: the group only grew since they were judged together)."""

    ids: list[int]
    key: str
    kept: list[int]


def _group_key(digest: str, members: list[tuple[int, int | str]]) -> str:
    """The stance key of a group: ``digest`` and every member's (id, what it is judged from: its
    vector and, for a passage, the passages beside it)."""
    return _digest(f"{digest}:{members}", [])


def _groups_to_judge(db, table: str, digest: str, threshold: float) -> list[_Group]:
    """The groups of copies whose key is not the one their members were judged with."""
    pending = []
    for group in storage.stance_groups(db, table, threshold):
        key = _group_key(digest, [(row_id, judged_from) for row_id, judged_from, _ in group])
        if any(stored != key for _, _, stored in group):
            pending.append(_Group([row_id for row_id, _, _ in group], key, _kept(digest, group)))
    return pending


def _kept(digest: str, group: list[tuple[int, int | str, str | None]]) -> list[int]:
    """The members of ``group`` judged before as one whole group from what they have now,
    when the others are new: the group only grew, and their judgement need not be made again."""
    before = [(row_id, judged_from) for row_id, judged_from, stored in group if stored is not None]
    keys = {stored for _, _, stored in group if stored is not None}
    if before and len(before) < len(group) and keys == {_group_key(digest, before)}:
        return [row_id for row_id, _ in before]
    return []


def _batches_of_groups(groups: list[_Group], rows: int) -> Iterator[list[_Group]]:
    """Whole groups, about ``rows`` members at a time."""
    batch, size = [], 0
    for group in groups:
        batch.append(group)
        size += len(group.ids)
        if size >= rows:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _judge_groups(db, classifier, statement_encoder, table: str, groups: list[_Group]) -> tuple[list[tuple], int]:
    """(id, stance, confidence, reasons, key) of every member of ``groups``: each group gets the
    best judgement of its members (``_rank``); and how many rows were judged for it.

    A group that only grew compares its new members' judgements with its
    stored one, the best of its other members: the best of the whole group,
    as judging every member again would find.
    """
    judged = _judge(db, classifier, statement_encoder, table, [row_id for g in groups for row_id in _new(g)])
    stored = storage.stances_by_id(db, table, [g.kept[0] for g in groups if g.kept])
    found = []
    for group in groups:
        candidates = [judged[row_id] for row_id in _new(group)]
        if group.kept:
            candidates.append(Judgement(*stored[group.kept[0]]))
        best = max(candidates, key=_rank)
        found.extend((row_id, best.stance, best.confidence, best.reasons, group.key) for row_id in group.ids)
    return found, len(judged)


def _new(group: _Group) -> list[int]:
    """The members of ``group`` to judge: all but the kept."""
    return [row_id for row_id in group.ids if row_id not in group.kept]


def _rank(judgement: Judgement) -> tuple:
    """How a judgement ranks among its copies': a stance before none, then the more confident, then
    (copies judged alike but for their reasons) by their reasons, so that the best of a group depends
    on its members' judgements alone, not on their order."""
    return (
        judgement.stance is not None,
        judgement.confidence or 0,
        judgement.stance or "",
        json.dumps(judgement.reasons, sort_keys=True),
    )


class _KeptVectors:
    """Encodes like ``embedder``, keeping the vectors in ``table`` (storage.KEPT_VECTORS) by the
    text's normalized_hash: a text encoded once is never encoded again for that model, and an
    analysis whose texts all have theirs never loads the model."""

    def __init__(self, db, table: str, embedder):
        self.db, self.table, self.embedder = db, table, embedder
        self.name = embedder.name

    def encode(self, texts: list[str]) -> np.ndarray:
        hashes = [schema.normalized_hash(text) for text in texts]
        stored = storage.kept_vectors(self.db, self.table, self.name, hashes)
        missing = {text_hash: text for text_hash, text in zip(hashes, texts) if text_hash not in stored}
        if missing:
            encoded = self.embedder.encode(list(missing.values())).astype("<f4")
            new = {text_hash: vector.tobytes() for text_hash, vector in zip(missing, encoded)}
            storage.save_kept_vectors(self.db, self.table, self.name, new)
            stored.update(new)
        return np.stack([np.frombuffer(stored[text_hash], dtype="<f4") for text_hash in hashes])


def _example_hashes(relevance, stance_set) -> list[str]:
    """The normalized_hash of every example text the classifiers learn from."""
    texts = [*training_texts(relevance), *(text for s in stance_set.stances for text in s.examples)]
    return [schema.normalized_hash(text) for text in texts]


def _judge(db, classifier, statement_encoder: _KeptVectors, table: str, ids: list[int]) -> dict[int, Judgement]:
    """The classifier's judgement of each of ``ids`` (passages or quotes)."""
    if not ids:
        return {}
    rows = storage.texts_for_stance(db, table, ids)
    texts = [text for _, text, _ in rows]
    vectors = np.frombuffer(b"".join(vector for _, _, vector in rows), dtype="<f4").reshape(len(rows), -1)
    neighbours = None
    if table == "quotes":
        # A quotation's cues are its own words; its embedding is judged with its passage's: "Math. Math."
        # alone says little, in context a lot.
        combined = statement_encoder.encode(texts) + vectors
        vectors = combined / np.linalg.norm(combined, axis=1, keepdims=True)
    else:
        beside = storage.neighbour_texts(db, [row_id for row_id, _, _ in rows])
        neighbours = [beside.get(row_id, []) for row_id, _, _ in rows]
    return dict(zip((row_id for row_id, _, _ in rows), classifier.judge(texts, vectors, neighbours)))
