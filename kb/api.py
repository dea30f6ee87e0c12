"""The Python API: what the `kb` commands do, as a library.

    from kb import KnowledgeBase

    kb = KnowledgeBase("kb.db")
    report = kb.crawl("sources.yml")          # store, index, embed, analyze; report.problems
    for hit in kb.search("do I need calculus?", mode="hybrid", limit=5):
        print(hit.score, hit.title, hit.url)
    for person in kb.people():
        print(person.name, len(kb.statements(person=person.name)))

Methods return dataclasses and raise ``KbError`` (a bad file, a mistake in a
configuration file: the command line's exit 2) or its subclass ``Locked``
(another writer holds the database: exit 3); a crawl that did not complete
is not an exception but a ``RunReport`` with ``problems`` (exit 1). The
search objects (the model, the HNSW index, the keyword index) are built once
per KnowledgeBase. kb/cli.py is a thin click layer over this module.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from . import storage
from .analysis.people import DEFAULT_PEOPLE_FILE
from .analysis.relevance import DEFAULT_RELEVANCE_FILE
from .analysis.stance import DEFAULT_STANCES_FILE
from .analysis.topics import DEFAULT_TOPICS_FILE

# With embedding after it, the crawl gets this share of a time budget.
CRAWL_SHARE_OF_BUDGET = 0.8


class KbError(Exception):
    """A mistake the user can fix: a missing or foreign file, a bad configuration, a bad argument."""


class Locked(KbError):
    """Another crawl (or other writer) holds the database's lock."""


@dataclass
class RunReport:
    """What a crawl or ingest did: summary lines, and problems (any problem: it did not complete)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    run: dict | None = None

    @property
    def complete(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Hit:
    """One passage found by a search, with its document."""

    passage_id: int
    title: str | None
    url: str
    site_name: str | None
    author: str | None
    published: str | None
    snippet: str
    score: float
    relevance: float | None
    page: int | None
    also_published_at: list[str]
    extra: dict = field(default_factory=dict)  # what else the mode's canned query returns (e.g. hybrid's ranks)

    def as_dict(self) -> dict:
        """The hit as the canned query and /search.json name its fields."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "extra"}
        return {**fields, **self.extra}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    aliases: list[str]
    description: str | None
    affiliation: str | None
    verified: bool


@dataclass(frozen=True)
class Statement:
    """A person's distinct statement (a republished one once): a quotation, reported speech or a passage they wrote."""

    person: str
    kind: str
    text: str
    stance: str | None
    confidence: float | None
    title: str | None
    url: str | None
    published: str | None


class KnowledgeBase:
    """A knowledge base in one SQLite file (created by the first crawl).

    ``db`` is a path, or an open ``sqlite_utils.Database`` (a file's, or one in
    memory for the methods that only read: people, statements).
    """

    def __init__(
        self,
        db: str | Path | Database,
        *,
        model: str | None = None,
        people: str | Path = DEFAULT_PEOPLE_FILE,
        stances: str | Path = DEFAULT_STANCES_FILE,
        relevance: str | Path = DEFAULT_RELEVANCE_FILE,
        topics: str | Path = DEFAULT_TOPICS_FILE,
        metadata: str | Path | None = None,
    ):
        self._db = db if isinstance(db, Database) else None
        self.path = _file_of(db) if isinstance(db, Database) else Path(db)  # checked by each method
        self.model = model
        self.people_path, self.stances_path, self.relevance_path = str(people), str(stances), str(relevance)
        self.topics_path = str(topics)
        self.metadata = metadata
        self._searcher = None
        self._checked = False

    # Writing

    def crawl(
        self,
        sources="sources.yml",
        *,
        embed: bool = True,
        time_budget: float | None = None,
        log_level: str = "INFO",
        log_file: str | None = None,
        progress: bool = True,
    ) -> RunReport:
        """Crawl the sources (a sources file, or what ``crawl_config`` read) into the file, then
        index, embed and analyze what changed.

        Scrapy's reactor runs once per process: one crawl per Python process.
        """
        from crawler.run import run_crawl

        started = time.monotonic()
        config = self.crawl_config(sources) if isinstance(sources, (str, Path)) else sources
        crawl_budget = time_budget * (1.0 if not embed else CRAWL_SHARE_OF_BUDGET) if time_budget else None

        def crawl(path: str, model: str) -> int | None:
            return run_crawl(
                config, path, log_level=log_level, model=model, time_budget=crawl_budget, log_file=log_file
            )

        return self._store_then_process(
            "crawl",
            crawl,
            failed=lambda run: [f"source '{name}' failed entirely" for name in failed_sources(run, config)],
            embed=embed,
            deadline=started + time_budget if time_budget else None,
            progress=progress,
        )

    def crawl_config(self, sources: str | Path):
        """The sources file read and checked, with people.yml (what `crawl` runs with); KbError if wrong."""
        from crawler.sources import SourcesError, load_sources

        from .analysis.analyze import check_config
        from .analysis.nlp import PipelineError
        from .yamlfile import YamlFileError

        try:
            config = load_sources(sources)
            check_config(self.people_path)
        except (SourcesError, YamlFileError, PipelineError) as e:
            raise KbError(str(e)) from None
        return config

    def ingest(self, redis_client, idle_seconds: float = 30.0, *, embed: bool = True, should_stop=None) -> RunReport:
        """Store the items distributed workers pushed to Redis (the single writer), then as after a crawl."""
        from crawler.distributed import ingest as ingest_items

        def ingest(path: str, model: str) -> int | None:
            return ingest_items(
                redis_client,
                path,
                idle_seconds,
                model=model,
                should_stop=should_stop,
                people_path=self.people_path,
                topics_path=self.topics_path,
            )

        return self._store_then_process("run", ingest, embed=embed, progress=False)

    def embed(self, *, deadline: float | None = None, progress: bool = True) -> str:
        """Embed every passage that has no vector for the model yet; a summary line."""
        self._existing_file()
        with self._writer_lock():
            return self._embed(deadline=deadline, progress=progress)

    def _embed(self, *, deadline: float | None = None, progress: bool = True) -> str:
        from embeddings.model import ModelError

        from .vectors import embed_new_passages

        try:
            return embed_new_passages(
                self._existing_file(), self._resolve_model(), deadline=deadline, progress=progress
            ).summary()
        except ModelError as e:
            raise KbError(str(e)) from None

    def analyze(
        self, *, everything: bool = False, time_budget: float | None = None, progress: bool = True
    ) -> RunReport:
        """Derive what changed since the last analysis: people, copies, statements, topics, relevance
        and stances (``everything``: all of it again). Stopped by ``time_budget`` (seconds), it is
        incomplete (a problem in the report) and the next analysis goes on from there."""
        self._existing_file()
        deadline = time.monotonic() + time_budget if time_budget else None
        report = RunReport()
        with self._writer_lock():
            self._analyze(report, everything=everything, deadline=deadline, progress=progress)
        return report

    def _analyze(
        self,
        report: RunReport,
        *,
        only_if_changed: bool = False,
        everything: bool = False,
        deadline: float | None = None,
        progress: bool = False,
    ) -> None:
        from .analysis.analyze import analyze_and_record
        from .analysis.nlp import PipelineError
        from .yamlfile import YamlFileError

        try:
            summary, left = analyze_and_record(
                self._existing_file(),
                self.people_path,
                topics_path=self.topics_path,
                stances_path=self.stances_path,
                relevance_path=self.relevance_path,
                only_if_changed=only_if_changed,
                everything=everything,
                deadline=deadline,
                progress=progress,
            )
        except (YamlFileError, PipelineError) as e:  # people.yml, topics.yml, stances.yml; the spaCy pipeline
            raise KbError(str(e)) from None
        report.lines.append(summary)
        if left:
            report.problems.append(f"the analysis stopped at the time budget; {left} documents left for the next one")

    def llm_export(self, collection: str = storage.LLM_COLLECTION) -> int:
        """Copy the vectors into llm's tables of the same file (storage.export_to_llm); how many."""
        path = self._existing_file()
        with self._writer_lock():
            db = storage.open_db(path)
            try:
                return storage.export_to_llm(db, collection)
            except storage.StorageError as e:
                raise KbError(str(e)) from None
            finally:
                db.close()

    # Reading

    def search(
        self,
        query: str,
        mode: str = "hybrid",
        limit: int = 10,
        *,
        min_relevance: float | None = None,
        keyword_weight: float = 0.02,
        semantic_weight: float = 1.0,
    ) -> list[Hit]:
        """Passages for ``query``: keyword (BM25), semantic (embeddings) or hybrid (both, fused).

        ``min_relevance`` None: what relevance.yml's threshold calls relevant; 0: everything.
        """
        from .metadata import MetadataError
        from .search import Searcher
        from .search.semantic import SearchError

        if not query or not query.strip():
            raise KbError("empty query")
        path = self._existing_file()
        if mode != "keyword" and not self._has_vectors():
            raise KbError(f"no passage has a vector yet: run `kb embed --db {path}` (or use --mode keyword)")
        try:
            if self._searcher is None:
                self._searcher = Searcher(path, self.metadata)
            rows = self._searcher.search(query, mode, limit, keyword_weight, semantic_weight, min_relevance)
        except (SearchError, MetadataError, storage.StorageError, ValueError) as e:
            raise KbError(str(e)) from None
        known = set(Hit.__dataclass_fields__) - {"extra"}
        return [
            Hit(**{name: row.get(name) for name in known}, extra={k: v for k, v in row.items() if k not in known})
            for row in rows
        ]

    def people(self) -> list[Person]:
        """Everyone the knowledge base knows, the curated (verified) first."""
        rows = self._read(
            "select id, name, aliases, description, affiliation, verified from people order by verified desc, name"
        )
        return [
            Person(
                row["id"],
                row["name"],
                json.loads(row["aliases"] or "[]"),
                row["description"],
                row["affiliation"],
                bool(row["verified"]),
            )
            for row in rows
        ]

    def statements(self, person: str | int | None = None, stance: str | None = None) -> list[Statement]:
        """Distinct statements (a republished one once), oldest first; of one person (id, or a name or
        alias in any case: "yann lecun", "LeCun") or all."""
        where, params = ["1 = 1"], {}
        if person is not None:
            where.append("people.id in (select value from json_each(:person_ids))")
            params["person_ids"] = json.dumps(self._person_ids(person))
        if stance is not None:
            where.append("person_statements.stance = :stance")
            params["stance"] = stance
        rows = self._read(
            f"""
            select people.name as person, person_statements.kind, person_statements.text, person_statements.stance,
                   person_statements.confidence, person_statements.title, person_statements.url,
                   person_statements.published
            from person_statements join people on people.id = person_statements.person_id
            where {" and ".join(where)}
            order by person_statements.published is null, person_statements.published, person_statements.url""",
            params,
        )
        return [Statement(**row) for row in rows]

    # Curation (kb/curation.py): small writes, taken by SQLite's own locking even while a crawl runs

    def add_curator(self, name: str, password: str) -> None:
        """Let ``name`` sign in to the site and correct statements (a new password if they exist)."""
        from .curation import CurationError, add_curator

        with self._open() as db:
            try:
                add_curator(db, name, password)
            except CurationError as e:
                raise KbError(str(e)) from None

    def remove_curator(self, name: str) -> None:
        """Revoke a curator: their sessions stop working at once; their corrections stay."""
        with self._open() as db:
            if not storage.remove_curator(db, name):
                raise KbError(f"there is no curator named {name!r}")

    def curators(self) -> list[str]:
        with self._open() as db:
            return storage.curator_names(db)

    def export_corrections(self) -> str:
        """Every curator's correction as YAML, for version control (`kb corrections export`)."""
        from .curation import export_corrections

        with self._open() as db:
            return export_corrections(db)

    def import_corrections(self, path: str | Path) -> tuple[int, int]:
        """Add the corrections of an exported file (checked first, nothing written on a mistake)
        and apply them; (added, already here)."""
        from .curation import CurationError, read_corrections

        try:
            corrections = read_corrections(path)
        except CurationError as e:
            raise KbError(str(e)) from None
        with self._open() as db:
            return storage.import_corrections(db, corrections)

    @contextlib.contextmanager
    def _open(self):
        if self._db is not None:
            yield self._db
            return
        db = storage.open_db(self._existing_file())
        try:
            yield db
        finally:
            db.close()

    def _person_ids(self, person: str | int) -> list[int]:
        from .search.sqlfunctions import person_named

        if isinstance(person, int):
            return [person]
        rows = self._read("select id, name, aliases from people")
        return [row["id"] for row in rows if person_named(row["name"], row["aliases"], person.replace(",", " "))]

    # Plumbing

    def _read(self, sql: str, params: dict | None = None) -> list[dict]:
        if self._db is not None:
            return list(self._db.query(sql, params or {}))
        db = storage.connect(self._existing_file())
        try:
            return list(db.query(sql, params or {}))
        finally:
            db.close()

    def _file(self) -> str:
        """The database file, checked to be a knowledge base once it exists (once per KnowledgeBase)."""
        if self.path is None:
            raise KbError("this needs a database file (the knowledge base is in memory)")
        if not self._checked and self.path.is_file():
            _check(self.path)
            self._checked = True
        return str(self.path)

    def _existing_file(self) -> str:
        path = self._file()
        if not Path(path).is_file():
            raise KbError(f"{path}: database not found")
        return path

    def _writer_lock(self):
        return _translated_lock(self._file())

    def _resolve_model(self) -> str:
        from .vectors import resolve_model

        return resolve_model(self._file(), self.model)

    def _has_vectors(self) -> bool:
        db = storage.connect(self._existing_file())
        try:
            return storage.has_vectors(db)
        finally:
            db.close()

    def _run(self, run_id: int | None) -> dict | None:
        return storage.open_db(self._file())["crawl_runs"].get(run_id) if run_id else None

    def _store_then_process(
        self, what: str, store, *, failed=lambda run: [], embed: bool, deadline=None, progress: bool = True
    ) -> RunReport:
        """Under the writer lock: ``store(path, model)`` (a crawl or an ingest, returning its run id),
        then the keyword index, vectors and analysis; the run's report."""
        path = self._file()
        with self._writer_lock():
            storage.open_db(path).close()  # created or migrated under the lock
            model = self._resolve_model()
            run = self._run(store(path, model))
            if run is None:
                return RunReport(problems=[f"the {what} did not start (see the log above)"])
            report = RunReport([run_summary(run)], failed(run), run)
            if run["status"] != "completed":
                report.problems.insert(0, f"the {what} was {run['status']}")
            self._after_storing(report, model, embed=embed, deadline=deadline, progress=progress)
        return report

    def _after_storing(
        self, report: RunReport, model: str, *, embed: bool, deadline: float | None = None, progress: bool = True
    ) -> None:
        """What follows storing pages: the keyword index, the vectors, then the analysis
        (which uses the vectors, and is skipped when nothing changed)."""
        from .search.keyword_index import sync_index

        try:
            report.lines.append(sync_index(self._file()))
        except (OSError, ValueError) as e:  # tantivy reports its failures as ValueError
            report.problems.append(f"the keyword index was not updated ({e}); `kb embed --rebuild-index` rebuilds it")
        if embed:
            report.lines.append(self._embed(deadline=deadline, progress=progress))
        self._analyze(report, only_if_changed=True, deadline=deadline, progress=progress)


@contextlib.contextmanager
def _translated_lock(path: str):
    """storage.writer_lock; its errors, and storage errors of the work done under it, as the API's."""
    try:
        with storage.writer_lock(path):
            yield
    except storage.LockedError as e:
        raise Locked(str(e)) from None
    except storage.StorageError as e:
        raise KbError(str(e)) from None


def _check(path: Path) -> None:
    try:
        storage.check_knowledge_base(path)
    except storage.StorageError as e:
        raise KbError(str(e)) from None


def _file_of(db: Database) -> Path | None:
    """The file an open Database reads, or None in memory."""
    rows = db.execute("pragma database_list").fetchall()
    name = next((row[2] for row in rows if row[1] == "main"), "")
    return Path(name) if name else None


def run_summary(run: dict) -> str:
    counts = ", ".join(f"{run[k]} {k}" for k in ("fetched", "new", "changed", "unchanged", "gone", "failed", "skipped"))
    errors = json.loads(run.get("errors") or "{}")
    by_kind = "; ".join(f"{n} {kind}" for kind, n in sorted(errors.items(), key=lambda e: (-e[1], e[0])))
    low = f", {run['low_relevance']} low relevance" if run.get("low_relevance") else ""
    return f"crawl run {run['id']} {run['status']} in {run['duration_s']:.1f}s: {counts}{low}" + (
        f" (failures: {by_kind})" if by_kind else ""
    )


def failed_sources(run: dict, config) -> list[str]:
    """Sources of which every page this run tried failed."""
    counts = json.loads(run["per_source"] or "{}")
    return [
        s.name
        for s in config.sources
        if counts.get(s.name, {}).get("failed")
        and not any(counts[s.name].get(k) for k in ("new", "changed", "unchanged", "gone"))
    ]
