"""The crawl's time budget: `kb crawl --time-budget`, so a cron run ends before the next begins.

Scrapy's CLOSESPIDER_TIMEOUT closes the spider gracefully, and a graceful
close still downloads every request already queued in the downloader (up to
CONCURRENT_REQUESTS of them, one download delay apart per host): measured,
that ran 3 s past a 2 s budget on a slow local site, and would run further
with real delays. At the deadline this extension starts the close and then
drops the requests still waiting in the downloader's per-host queues; only
the downloads already in flight finish (each within DOWNLOAD_TIMEOUT). The
dropped pages are simply not fetched this run; the next run gets to them.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro

logger = logging.getLogger(__name__)

CLOSE_REASON = "time_budget"


class TimeBudgetExceeded(IgnoreRequest):
    """A queued request dropped because the run's time is up."""


class TimeBudget:
    def __init__(self, crawler, seconds: float):
        self.crawler = crawler
        self.seconds = seconds
        self.timer = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        seconds = crawler.settings.getfloat("KB_TIME_BUDGET")
        if not seconds:
            raise NotConfigured
        return cls(crawler, seconds)

    def spider_opened(self, spider) -> None:
        self.timer = call_later(self.seconds, self.time_is_up)

    def time_is_up(self) -> None:
        self.timer = None
        engine = self.crawler.engine
        logger.info("time budget of %g s reached: closing the crawl", self.seconds)
        deferred_from_coro(engine.close_spider_async(reason=CLOSE_REASON))  # stops new requests first
        dropped = 0
        for slot in list(engine.downloader.slots.values()):
            while slot.queue:
                _request, waiting = slot.queue.popleft()
                waiting.errback(TimeBudgetExceeded("time budget reached before this request was sent"))
                dropped += 1
        if dropped:
            logger.info("%d queued requests dropped; the next run fetches them", dropped)

    def spider_closed(self, spider, reason) -> None:
        if self.timer is not None:
            self.timer.cancel()
