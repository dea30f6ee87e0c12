"""What one document's analysis depends on: the document and the configuration, nothing else.

So it can be computed where the document is extracted (a distributed crawl's
workers: crawler.pipelines.DerivePipeline) and stored by the single writer
without computing it again (DerivedStore): the statements with their
speakers, the resolved author, the topics of each passage and the MinHash
band keys of the document (the candidates for copies), each with the key
`kb analyze` would give it, and optionally the passages' vectors. A writer
whose people.yml, topics.yml or parser differ from the worker's keeps
nothing of it, and its analysis derives the document with its own; vectors
of another model than the writer's are left for its `kb embed`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import storage
from .analyze import (
    document_text,
    follow_people,
    follow_topics,
    people_digest,
    statement_record,
    statements_digest,
    tagger_digest,
    topics_digest,
)
from .people import DEFAULT_PEOPLE_FILE, Directory, load_people
from .quotes import extract_many
from .topics import DEFAULT_TOPICS_FILE, load_topics, tag
from .works import COPIES_DIGEST, band_keys, shingles


class DocumentDeriver:
    """Derives documents one at a time with one people.yml and topics.yml (loaded once), and with
    ``embedder`` (embeddings.model.Embedder) the vectors of their passages too."""

    def __init__(self, people_path: str | Path | None = None, topics_path: str | Path | None = None, embedder=None):
        self.embedder = embedder
        people = load_people(people_path or DEFAULT_PEOPLE_FILE)
        self.topics = load_topics(topics_path or DEFAULT_TOPICS_FILE)
        self.directory = Directory(people)
        self.statements_digest = statements_digest()
        self.people_digest = people_digest(people)
        self.topics_digest = topics_digest(self.topics)

    def derive(self, document: Mapping, spans: Sequence[tuple[int, int]]) -> dict:
        """The derivation of ``document`` (the fields storage.save_document takes) whose passages are
        ``spans``, as JSON-ready data: what DerivedStore.store takes."""
        text = document["text"]
        segments = json.dumps(document["segments"]) if document.get("segments") else None
        parsed = document_text(text, document.get("author"), storage.links_json(document.get("links")), segments)
        [found] = extract_many([parsed], self.directory)
        passages = [text[start:end] for start, end in spans]
        topics = {storage.content_hash(passage): tag(passage, self.topics) for passage in passages}
        derived = {
            "statements_key": f"{self.statements_digest}:{storage.document_hash(document)}",
            "people_digest": self.people_digest,
            "author": found.author.name if found.author else None,
            "note": found.note,
            "statements": [statement_record(q) for q in found.quotes],
            "topics_digest": self.topics_digest,
            "topics": topics,  # passage content_hash -> {topic name: mentions}
            "bands_key": f"{COPIES_DIGEST}:{storage.document_hash(document)}",
            "band_keys": band_keys(shingles(text)),
        }
        if self.embedder is not None and passages:
            derived["vectors"] = self._vectors(passages)
        return derived

    def _vectors(self, passages: list[str]) -> dict:
        vectors = self.embedder.encode(passages)
        return {
            "model": self.embedder.name,
            "dimensions": self.embedder.dimensions,
            "passages": {  # passage content_hash -> its float32 vector, base64
                storage.content_hash(passage): base64.b64encode(vector.astype("<f4").tobytes()).decode()
                for passage, vector in zip(passages, vectors)
            },
        }


class DerivedStore:
    """The writer's side: stores a worker's derivation when it was made with this writer's
    configuration (same digests), so its analysis finds the document already derived."""

    def __init__(
        self, people_path: str | Path | None = None, topics_path: str | Path | None = None, model: str | None = None
    ):
        """``model``: the model the writer embeds with; a worker's vectors from it are kept."""
        self.model = model
        self.takes_vectors: bool | None = None  # known with the first vectors (_takes_vectors)
        self.topics = load_topics(topics_path or DEFAULT_TOPICS_FILE)
        self.people = load_people(people_path or DEFAULT_PEOPLE_FILE)
        self.statements_digest = statements_digest()
        self.people_digest = people_digest(self.people)
        self.topics_digest = topics_digest(self.topics)
        self.tagger_digest = tagger_digest()
        self.topic_ids: dict[str, int] | None = None
        self.following = False  # the stored statements follow this people.yml (follow_people)

    def store(self, db, url: str, derived: Mapping) -> bool:
        """Store ``derived`` for the document at ``url`` as it is now stored; False when it is not
        this writer's to keep (other configuration, or another version of the document)."""
        row = db.execute(
            "select id, content_hash, statements_key, bands_key from documents where url = ?", [url]
        ).fetchone()
        if row is None:
            return False
        document_id, content_hash, current, bands = row
        key = f"{self.statements_digest}:{content_hash}"
        if (
            derived.get("statements_key") != key
            or derived.get("people_digest") != self.people_digest
            or derived.get("topics_digest") != self.topics_digest
        ):
            return False
        if not self.following:  # the key says "derived with parsed_people": make that this people.yml first
            follow_people(db, self.people)
            self.following = True
        if current != key:
            storage.save_quotes(db, document_id, derived["statements"], derived["author"], derived["note"], key)
        version = f"{COPIES_DIGEST}:{content_hash}"
        if bands != version and (keys := _band_keys(derived, version)) is not None:
            storage.save_band_keys(db, {document_id: (version, keys)})
        if self.topic_ids is None:  # the stored topics follow this topics.yml before a worker's are kept
            self.topic_ids = follow_topics(db, self.topics, self.tagger_digest)
        stored = db.execute("select id, content_hash from passages where document_id = ?", [document_id]).fetchall()
        if derived.get("vectors") and self._takes_vectors(db, derived["vectors"]):
            self._store_vectors(db, stored, derived["vectors"])
        found = derived["topics"]
        passages = [(passage_id, passage_hash) for passage_id, passage_hash in stored if passage_hash in found]
        storage.save_passage_topics(
            db,
            self.topic_ids,
            self.tagger_digest,
            passages,
            {passage_id: found[passage_hash] for passage_id, passage_hash in passages if found[passage_hash]},
        )
        return True

    def _takes_vectors(self, db, vectors: Mapping) -> bool:
        """A worker's vectors are kept when they are of the writer's model and the database holds
        vectors of no other model or size (which `kb embed` would drop with them)."""
        if vectors.get("model") != self.model or not isinstance(vectors.get("dimensions"), int):
            return False
        if self.takes_vectors is None:
            models = {(m["model"], m["dimensions"]) for m in storage.embedding_models(db)}
            size = vectors["dimensions"]
            self.takes_vectors = models <= {(self.model, size)} and storage.vector_index_dimensions(db) == size
        return self.takes_vectors

    def _store_vectors(self, db, passages: list[tuple[int, str]], vectors: Mapping) -> None:
        """The vectors of the document's ``passages`` (id, content_hash) that have none for their text."""
        have = {
            row[0]
            for row in db.execute(
                "select v.passage_id from passage_vectors v join passages p on p.id = v.passage_id "
                "where p.document_id = (select document_id from passages where id = ?) and v.model = ? "
                "and v.content_hash = p.content_hash",
                [passages[0][0] if passages else None, self.model],
            )
        }
        sent = vectors["passages"]
        rows = [
            (passage_id, passage_hash, base64.b64decode(sent[passage_hash], validate=True))
            for passage_id, passage_hash in passages
            if passage_id not in have and passage_hash in sent
        ]
        storage.save_embeddings(db, self.model, vectors["dimensions"], rows)


def _band_keys(derived: Mapping, version: str) -> list[int] | None:
    """A worker's band keys, when they are of ``version`` of the document and of the rules, and are
    band keys (signed 64-bit integers)."""
    keys = derived.get("band_keys")
    if derived.get("bands_key") != version or not isinstance(keys, list):
        return None
    return keys if all(type(key) is int and -(2**63) <= key < 2**63 for key in keys) else None
