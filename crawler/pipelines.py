"""The storage pipeline: every item of a crawl goes into the knowledge base.

It writes only through kb.storage, and keeps the run's counts so the
crawl_runs row ends with an honest summary even when the crawl is cut short.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict

from scrapy import signals

from embeddings.chunking import split_passages
from embeddings.model import load_token_counter
from kb import storage

from .items import Article, FetchFailure, Revisit

logger = logging.getLogger(__name__)

# How Scrapy's close reasons map to crawl_runs.status.
RUN_STATUS = {"finished": "completed", "shutdown": "interrupted", "time_budget": "interrupted"}


class StoragePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("KB_DB_PATH")
        if not self.db_path:
            raise ValueError("KB_DB_PATH is not set: tell the crawler which database to write")
        self.sources_file = crawler.settings.get("KB_SOURCES_FILE") or ""
        self.max_tokens = crawler.settings.getint("KB_PASSAGE_MAX_TOKENS")
        self.count_tokens = load_token_counter(crawler.settings.get("KB_MODEL"))
        self.counts: Counter = Counter()
        self.per_source: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()  # failures by kind

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.db = storage.open_db(self.db_path)
        storage.save_sources(self.db, self.crawler.spider.config.sources)
        self.run_id = storage.start_run(self.db, self.sources_file)
        self.started = time.monotonic()
        self.crawler.stats.set_value("kb/run_id", self.run_id)

    def process_item(self, item):
        if isinstance(item, Article):
            self.store_article(item)
        elif isinstance(item, FetchFailure):
            self.store_failure(item)
        elif isinstance(item, Revisit):
            self.store_revisit(item)
        return item

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

    def store_failure(self, failure: FetchFailure) -> None:
        logger.warning("failed %s: %s", failure.url, failure.reason)
        self.count(failure.source, "failed")
        self.errors[failure.kind] += 1
        storage.record_failure(self.db, self.run_id, failure.source, failure.url, failure.reason, failure.kind)

    def count(self, source: str | None, outcome: str) -> None:
        self.counts[outcome] += 1
        self.per_source[source or "-"][outcome] += 1

    def spider_closed(self, spider, reason: str) -> None:
        stats = self.crawler.stats
        counts = {
            "fetched": stats.get_value("downloader/response_count", 0),
            "skipped": stats.get_value("robotstxt/forbidden", 0),
            **{k: self.counts[k] for k in ("new", "changed", "unchanged", "gone", "failed")},
        }
        for source, source_counts in sorted(self.per_source.items()):
            logger.info("source %s: %s", source, _format_counts(source_counts))
        status = RUN_STATUS.get(reason, "failed")
        storage.finish_run(
            self.db, self.run_id, status, counts, time.monotonic() - self.started,
            per_source={k: dict(v) for k, v in self.per_source.items()}, errors=self.errors,
        )
        self.db.close()


def _format_counts(counts: Counter) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in ("new", "changed", "unchanged", "gone", "failed"))
