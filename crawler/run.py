"""Run one crawl in this process: the function behind `kb crawl`."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .sources import CrawlConfig
from .spiders.articles import ArticlesSpider


def crawl_settings(config: CrawlConfig, db_path: str | Path, log_level: str = "INFO",
                   model: str | None = None, time_budget: float | None = None,
                   log_file: str | None = None) -> Settings:
    """The project's Scrapy settings with this run's database and sources applied."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides = {
        "KB_DB_PATH": str(db_path),
        "KB_SOURCES_FILE": config.path,
        "KB_MODEL": model,
        "USER_AGENT": config.user_agent,
        "DOWNLOAD_DELAY": config.download_delay,
        "AUTOTHROTTLE_START_DELAY": max(config.download_delay, 0.1),
        "LOG_LEVEL": log_level,
    }
    if time_budget:
        overrides["CLOSESPIDER_TIMEOUT"] = time_budget  # ends as 'closespider_timeout': interrupted
    if log_file:
        overrides.update(LOG_FILE=log_file, LOG_FILE_APPEND=True)
    if config.download_delay == 0:
        # A delay of 0 means "politeness off" (local test sites, benchmarks):
        # AutoThrottle would otherwise slow the crawl back down.
        overrides["AUTOTHROTTLE_ENABLED"] = False
    settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(config: CrawlConfig, db_path: str | Path, log_level: str = "INFO",
              model: str | None = None, time_budget: float | None = None,
              log_file: str | None = None) -> int | None:
    """Crawl every source into ``db_path``; returns the crawl_runs id.

    Blocks until the crawl ends. Twisted's reactor cannot be restarted, so
    this runs once per process (`kb crawl` is one process per run).
    """
    process = CrawlerProcess(crawl_settings(config, db_path, log_level, model, time_budget, log_file))
    crawler = process.create_crawler(ArticlesSpider)
    process.crawl(crawler, config=config)
    process.start()
    return crawler.stats.get_value("kb/run_id")
