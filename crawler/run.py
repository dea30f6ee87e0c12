"""Run one crawl in this process: the function behind `kb crawl`."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .sources import CrawlConfig
from .spiders.articles import ArticlesSpider

MIN_DOWNLOAD_DELAY = 0.001


def sources_settings(config: CrawlConfig, settings: Settings) -> dict:
    """The Scrapy settings the sources file decides (politeness, limits), over ``settings``."""
    overrides = {
        "KB_SOURCES_FILE": config.path,
        "USER_AGENT": config.user_agent,
        # Scrapy sends a host's queued requests all at once when the delay is 0,
        # beyond CONCURRENT_REQUESTS_PER_DOMAIN (measured with Scrapy 2.19):
        # a millisecond keeps the per-host limit and is still "no delay".
        "DOWNLOAD_DELAY": max(config.download_delay, MIN_DOWNLOAD_DELAY),
        "DOWNLOAD_TIMEOUT": config.download_timeout,
        "AUTOTHROTTLE_START_DELAY": max(config.download_delay, 0.1),
        # Every download stops at DOWNLOAD_MAXSIZE; a PDF limit above it raises it.
        "DOWNLOAD_MAXSIZE": max(settings.getint("DOWNLOAD_MAXSIZE"), int(config.pdf_max_mb * 2**20)),
    }
    if config.download_delay == 0:
        # A delay of 0 means "politeness off" (local test sites, benchmarks):
        # AutoThrottle would otherwise slow the crawl back down.
        overrides["AUTOTHROTTLE_ENABLED"] = False
    return overrides


def crawl_settings(
    config: CrawlConfig,
    db_path: str | Path,
    log_level: str = "INFO",
    model: str | None = None,
    time_budget: float | None = None,
    log_file: str | None = None,
) -> Settings:
    """The project's Scrapy settings with this run's database and sources applied."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides = {**sources_settings(config, settings), "KB_DB": str(db_path), "KB_MODEL": model, "LOG_LEVEL": log_level}
    if time_budget:
        overrides["KB_TIME_BUDGET"] = time_budget  # ends as 'time_budget': interrupted
    if log_file:
        overrides.update(LOG_FILE=log_file, LOG_FILE_APPEND=True)
    settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(
    config: CrawlConfig,
    db_path: str | Path,
    log_level: str = "INFO",
    model: str | None = None,
    time_budget: float | None = None,
    log_file: str | None = None,
) -> int | None:
    """Crawl every source into ``db_path``; returns the crawl_runs id.

    Blocks until the crawl ends. Twisted's reactor cannot be restarted, so
    this runs once per process (`kb crawl` is one process per run).
    """
    process = CrawlerProcess(crawl_settings(config, db_path, log_level, model, time_budget, log_file))
    crawler = process.create_crawler(ArticlesSpider)
    process.crawl(crawler, config=config)
    process.start()
    return crawler.stats.get_value("kb/run_id")


def run_worker(
    config: CrawlConfig,
    redis_url: str,
    seed: bool = False,
    log_level: str = "INFO",
    time_budget: float | None = None,
    log_file: str | None = None,
    model: str | None = None,
    people_path: str | Path | None = None,
    topics_path: str | Path | None = None,
    vectors: bool = False,
) -> dict:
    """Crawl as one scrapy-redis worker until the shared frontier is empty; returns Scrapy's stats.

    With ``seed`` the frontier and its seen-set are cleared first and the
    sources' start requests pushed: a new crawl begins. Items go to Redis for
    `kb ingest`, each with what its analysis derives from it alone (with
    ``people_path`` and ``topics_path``, and passages as ``model`` splits
    them; with ``vectors`` the passages' vectors from ``model`` too); this
    process opens no database.
    """
    from .distributed import worker_settings, worker_spider_class

    settings = crawl_settings(config, "", log_level, model, time_budget, log_file)
    settings.setdict(
        {
            **worker_settings(redis_url),
            "SCHEDULER_FLUSH_ON_START": seed,
            "KB_REDIS_SEED": seed,
            "KB_PEOPLE_FILE": str(people_path) if people_path else None,
            "KB_TOPICS_FILE": str(topics_path) if topics_path else None,
            "KB_EMBED_ON_WORKERS": vectors,
        },
        priority="cmdline",
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(worker_spider_class())
    process.crawl(crawler, config=config)
    process.start()
    return crawler.stats.get_stats()
