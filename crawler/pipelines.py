"""The storage pipeline: every item of a crawl goes into the knowledge base.

It hands items to an ItemStore (store.py), which writes only through
kb.storage and keeps the run's counts, so the crawl_runs row ends with an
honest summary even when the crawl is cut short.
"""

from __future__ import annotations

from scrapy import signals

from .store import ItemStore

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
