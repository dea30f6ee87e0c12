"""Storing a crawl's items in the knowledge base, with the run's honest counts.

The storage pipeline (pipelines.py) hands every item of a local crawl to an
ItemStore; keeping this free of Scrapy lets any other producer of the same
items store them through exactly the same code. It writes only through
kb.storage.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable

from embeddings.chunking import split_passages
from embeddings.model import load_token_counter
from kb import storage
from kb.analysis.derive import DerivedStore

from .items import Article, FetchFailure, Revisit

logger = logging.getLogger(__name__)

OUTCOMES = ("new", "changed", "unchanged", "gone", "failed")


class ItemStore:
    """One run's writes: open() starts a crawl_runs row, store() each item, close() finishes the row."""

    def __init__(
        self,
        db_path: str,
        sources: Iterable = (),
        sources_file: str = "",
        max_tokens: int = 256,
        model: str | None = None,
        derived: DerivedStore | None = None,
    ):
        """``derived``: keeps what distributed workers derived from their articles (kb ingest)."""
        if not db_path:
            raise ValueError("no database path: tell the crawler which database to write")
        self.db_path = db_path
        self.sources = list(sources)
        self.sources_file = sources_file
        self.max_tokens = max_tokens
        self.count_tokens = load_token_counter(model)
        self.derived = derived
        self.counts: Counter = Counter()
        self.per_source: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()  # failures by kind

    def open(self) -> int:
        """Open the database and start the run; returns its id."""
        self.db = storage.open_db(self.db_path)
        storage.save_sources(self.db, self.sources)
        self.run_id = storage.start_run(self.db, self.sources_file)
        self.started = time.monotonic()
        return self.run_id

    def store(self, item: Article | FetchFailure | Revisit) -> None:
        if isinstance(item, Article):
            self.store_article(item)
        elif isinstance(item, FetchFailure):
            self.store_failure(item)
        elif isinstance(item, Revisit):
            self.store_revisit(item)
        else:
            raise TypeError(f"not a crawl item: {type(item).__name__}")

    def store_revisit(self, revisit: Revisit) -> None:
        """304 or the same bytes: nothing to extract or store. 404/410: a stored page
        is marked gone, never deleted. A date that says unchanged: only counted."""
        if not revisit.confirmed:
            self.count(revisit.source, revisit.outcome)
            return
        mark = storage.mark_unchanged if revisit.outcome == "unchanged" else storage.mark_gone
        if mark(self.db, revisit.url):
            self.count(revisit.source, revisit.outcome)
        elif revisit.outcome == "gone":
            self.store_failure(FetchFailure(revisit.source, revisit.url, revisit.reason))
        else:
            self.count(revisit.source, "unchanged")  # 304 for a page stored under another URL

    def store_article(self, article: Article) -> None:
        try:
            outcome = storage.save_document(
                self.db, vars(article), split_passages(article.text, self.max_tokens, self.count_tokens)
            )
        except storage.sqlite3.Error as e:
            logger.error("could not store %s: %s", article.url, e)
            self.store_failure(FetchFailure(article.source, article.url, f"storage error: {e}", kind="storage error"))
            return
        self.count(article.source, outcome)
        logger.debug("%s %s", outcome, article.url)
        if article.derived and self.derived:
            self.store_derived(article)

    def store_derived(self, article: Article) -> None:
        try:
            kept = self.derived.store(self.db, article.url, article.derived)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            logger.warning("ignoring the analysis a worker sent with %s (kb analyze derives it): %r", article.url, e)
            kept = False
        if kept:
            self.per_source[article.source or "-"]["derived by workers"] += 1

    def store_failure(self, failure: FetchFailure) -> None:
        logger.warning("failed %s: %s", failure.url, failure.reason)
        self.count(failure.source, "failed")
        self.errors[failure.kind] += 1
        storage.record_failure(self.db, self.run_id, failure.source, failure.url, failure.reason, failure.kind)

    def count(self, source: str | None, outcome: str) -> None:
        self.counts[outcome] += 1
        self.per_source[source or "-"][outcome] += 1

    def close(
        self,
        status: str,
        fetched: int = 0,
        skipped: int = 0,
        low_relevance: dict[str, int] | None = None,
        hints: dict[str, dict[str, int]] | None = None,
    ) -> None:
        """Finish the run with its counts (logged per source) and close the database.

        ``low_relevance``: per source, the pages whose links a focused crawl did not follow;
        ``hints``: per source, how its sitemap and feed dates fared (crawler.hints.HintTrust.counts).
        """
        low_relevance = {name: n for name, n in (low_relevance or {}).items() if n}
        counts = {
            "fetched": fetched,
            "skipped": skipped,
            "low_relevance": sum(low_relevance.values()),
            **{k: self.counts[k] for k in OUTCOMES},
        }
        for source, n in low_relevance.items():
            self.per_source[source]["low relevance"] = n
        for source, counts_of_hints in (hints or {}).items():
            self.per_source[source].update(counts_of_hints)
            if counts_of_hints.get("hints contradicted"):
                logger.warning(
                    "source %s: its sitemap or feed dates were wrong (%d of %d pages checked had changed)",
                    source,
                    counts_of_hints["hints contradicted"],
                    counts_of_hints["hints checked"],
                )
        for source, source_counts in sorted(self.per_source.items()):
            low = (
                f", {source_counts['low relevance']} low relevance (links not followed)"
                if source_counts["low relevance"]
                else ""
            )
            logger.info("source %s: %s%s", source, ", ".join(f"{source_counts[k]} {k}" for k in OUTCOMES), low)
        storage.finish_run(
            self.db,
            self.run_id,
            status,
            counts,
            time.monotonic() - self.started,
            per_source={k: dict(v) for k, v in self.per_source.items()},
            errors=self.errors,
        )
        self.db.close()
