"""The item pipelines.

StoragePipeline (a local crawl): every item goes into the knowledge base. It
hands items to an ItemStore (store.py), which writes only through kb.storage
and keeps the run's counts, so the crawl_runs row ends with an honest
summary even when the crawl is cut short.

DerivePipeline (a distributed crawl's workers, KB_DERIVE_ON_WORKERS): each
article carries what its analysis derives from it alone (kb.analysis.derive)
to the writer, which then only stores it; with KB_EMBED_ON_WORKERS its
passages' vectors too.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

from embeddings.chunking import split_passages
from embeddings.model import load_token_counter

from .items import Article
from .store import ItemStore

logger = logging.getLogger(__name__)

# How Scrapy's close reasons map to crawl_runs.status.
RUN_STATUS = {"finished": "completed", "shutdown": "interrupted", "time_budget": "interrupted"}


class StoragePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        if not settings.get("KB_DB"):
            raise ValueError("KB_DB is not set: tell the crawler which database to write")
        self.settings = settings

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.store = ItemStore(
            self.settings.get("KB_DB"),
            self.crawler.spider.config.sources,
            sources_file=self.settings.get("KB_SOURCES_FILE") or "",
            max_tokens=self.settings.getint("KB_PASSAGE_MAX_TOKENS"),
            model=self.settings.get("KB_MODEL"),
        )
        self.crawler.stats.set_value("kb/run_id", self.store.open())

    def process_item(self, item):
        self.store.store(item)
        return item

    def spider_closed(self, spider, reason: str) -> None:
        stats = self.crawler.stats
        self.store.close(
            RUN_STATUS.get(reason, "failed"),
            fetched=stats.get_value("downloader/response_count", 0),
            skipped=stats.get_value("robotstxt/forbidden", 0),
            low_relevance={s.name: stats.get_value(f"kb/low_relevance/{s.name}", 0) for s in spider.config.sources},
            hints={name: trust.counts() for name, trust in getattr(spider, "hints", {}).items() if trust.hinted},
        )


class DerivePipeline:
    def __init__(self, settings):
        self.settings = settings
        self.deriver = None  # loaded with the first article (spaCy and the configuration files)
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("KB_DERIVE_ON_WORKERS"):
            raise NotConfigured("KB_DERIVE_ON_WORKERS is off")
        return cls(crawler.settings)

    def process_item(self, item):
        if isinstance(item, Article) and not self.failed:
            try:
                item.derived = self._derive(item)
            except Exception as e:  # a broken people.yml or pipeline here: the writer's analysis derives it
                logger.error("not deriving on this worker (kb analyze will): %s", e)
                self.failed = True
        return item

    def _derive(self, article: Article) -> dict:
        if self.deriver is None:
            from kb.analysis.derive import DocumentDeriver

            embedder = None
            if self.settings.getbool("KB_EMBED_ON_WORKERS"):
                from embeddings.model import get_embedder

                embedder = get_embedder(self.settings.get("KB_MODEL"))
            self.deriver = DocumentDeriver(
                self.settings.get("KB_PEOPLE_FILE"), self.settings.get("KB_TOPICS_FILE"), embedder
            )
            self.count_tokens = load_token_counter(self.settings.get("KB_MODEL"))
        spans = split_passages(article.text, self.settings.getint("KB_PASSAGE_MAX_TOKENS"), self.count_tokens)
        return self.deriver.derive(vars(article), spans)
