"""Crawling with many workers through Redis (scrapy-redis), one writer to SQLite.

Workers (`kb crawl --redis URL`) run the articles spider with scrapy-redis's
scheduler: the frontier and the seen-set live in Redis, shared by any number
of workers. A popped request is *leased* (LeasedPriorityQueue): it stays in
Redis with a deadline until the worker has pushed everything its response
produced, so a killed worker's requests go to another worker. Workers push
items to a Redis list (ITEMS_KEY) as JSON, never to SQLite.

The single writer (`kb ingest`) moves one item at a time from that list to a
processing list (LMOVE, atomic), stores it with the same ItemStore a local
crawl uses, then removes it. A writer killed midway leaves at most one item
in the processing list; the next writer puts it back first. Storing is
idempotent (a document is keyed by its URL, and the same content is
"unchanged"), so an item delivered twice is stored once. The writer also
keeps VALIDATORS_KEY, each stored page's validators (ETag, Last-Modified,
body hash), for workers to make the same conditional requests a local crawl
makes.

scrapy-redis is imported only by workers (the module-level ``__getattr__``
builds its subclasses on first use).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import os
import time
from collections.abc import Callable

from kb.analysis.derive import DerivedStore

from .items import Article, FetchFailure, Revisit
from .store import ItemStore

logger = logging.getLogger(__name__)

ITEMS_KEY = "kb:items"
PROCESSING_KEY = "kb:items:processing"
VALIDATORS_KEY = "kb:validators"
ITEM_TYPES = {cls.__name__: cls for cls in (Article, FetchFailure, Revisit)}


class BadItem(ValueError):
    """An entry of the items list that is not a crawl item; the message says why."""


def encode_item(item: Article | FetchFailure | Revisit) -> str:
    """JSON for the Redis items list: the item's fields and its type."""
    if type(item) not in ITEM_TYPES.values():
        raise TypeError(f"not a crawl item: {type(item).__name__}")
    return json.dumps({"type": type(item).__name__, "fields": dataclasses.asdict(item)}, ensure_ascii=False)


def decode_item(data: bytes | str) -> Article | FetchFailure | Revisit:
    """The item ``encode_item`` wrote; BadItem for anything else."""
    try:
        obj = json.loads(data)
        cls = ITEM_TYPES[obj["type"]]
        return cls(**obj["fields"])
    except (ValueError, UnicodeDecodeError) as e:
        raise BadItem(f"not JSON: {e}") from None
    except KeyError as e:
        raise BadItem(f"no crawl item type {e}") from None
    except TypeError as e:  # missing or unknown fields, or not an object
        raise BadItem(f"fields do not fit: {e}") from None


def ingest(
    redis,
    db_path: str,
    idle_seconds: float = 30.0,
    model: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    people_path: str | None = None,
    topics_path: str | None = None,
) -> int:
    """Drain the items list into the database until it stays empty for ``idle_seconds``; returns the run id.

    ``redis`` is a redis.Redis client. ``should_stop`` is checked between
    items (a signal handler sets it): the run then ends as interrupted, the
    items left wait in Redis. What the workers derived from an article is
    kept when they used the writer's ``people_path`` and ``topics_path``.
    """
    derived = DerivedStore(people_path, topics_path, model)
    store = ItemStore(db_path, sources_file=f"redis:{ITEMS_KEY}", model=model, derived=derived)
    run_id = store.open()
    requeued = 0
    while redis.lmove(PROCESSING_KEY, ITEMS_KEY, "RIGHT", "LEFT") is not None:  # a killed writer's item
        requeued += 1
    if requeued:
        logger.info("put back %d item(s) a previous writer did not finish", requeued)
    stored = 0
    idle_since = time.monotonic()
    status = "completed"
    while True:
        if should_stop():
            status = "interrupted"
            break
        data = redis.blmove(ITEMS_KEY, PROCESSING_KEY, 0.5, "LEFT", "RIGHT")
        if data is None:
            if time.monotonic() - idle_since >= idle_seconds:
                break
            continue
        _store_one(redis, store, data)
        redis.lrem(PROCESSING_KEY, 1, data)
        stored += 1
        idle_since = time.monotonic()
    store.close(status, fetched=stored)
    return run_id


def _store_one(redis, store: ItemStore, data: bytes) -> None:
    try:
        item = decode_item(data)
    except BadItem as e:
        logger.error("dropping a bad item from %s: %s", ITEMS_KEY, e)
        store.store(FetchFailure(None, "redis:" + ITEMS_KEY, f"bad item: {e}", kind="bad item"))
        return
    store.store(item)
    if isinstance(item, Article):
        redis.hset(
            VALIDATORS_KEY,
            item.url,
            json.dumps({"etag": item.etag, "last_modified": item.last_modified, "body_hash": item.body_hash}),
        )


# The workers' side: a frontier whose popped requests are leased, not lost.

# A request not acknowledged within this is handed to another worker ($KB_REDIS_LEASE_SECONDS).
LEASE_SECONDS = float(os.environ.get("KB_REDIS_LEASE_SECONDS") or 120)
MAX_ATTEMPTS = 3  # leases that expire this many times are dropped (a request that kills its worker)

# Atomically: hand expired leases back to the queue (or drop them after MAX_ATTEMPTS),
# then move the highest-priority request from the queue to the leases, due at now + lease.
_POP_SCRIPT = """
local now, lease, max_attempts = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], member)
  if redis.call('HINCRBY', KEYS[3], member, 1) < max_attempts then
    redis.call('ZADD', KEYS[1], 0, member)
  else
    redis.call('HDEL', KEYS[3], member)
  end
end
local top = redis.call('ZRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('ZADD', KEYS[2], now + lease, top[1])
return top[1]
"""


def load_validators(redis_url: str) -> dict[str, dict]:
    """The validators the writer keeps, as storage.known_pages gives them to a local crawl."""
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    return {url.decode(): json.loads(value) for url, value in client.hgetall(VALIDATORS_KEY).items()}


def release_leases(redis, queue_key: str, members) -> None:
    """End the leases ``members`` of the queue ``queue_key``: their requests are done."""
    if members:
        redis.zrem(f"{queue_key}:leases", *members)
        redis.hdel(f"{queue_key}:attempts", *members)


def _leased_queue_class():
    """LeasedPriorityQueue, defined when scrapy-redis is importable (only workers need it)."""
    from scrapy_redis.queue import PriorityQueue

    class LeasedPriorityQueue(PriorityQueue):
        """scrapy-redis's priority queue, but a popped request is leased until acknowledged.

        scrapy-redis pops destructively: a worker killed mid-request loses what
        it held. Here a pop moves the request to ``<key>:leases`` with a
        deadline; `ack()` (when the response's output is all in Redis) removes
        it, and any worker's next pop hands expired leases back to the queue.
        A request processed twice is harmless: the writer stores by URL.
        """

        lease_seconds = LEASE_SECONDS
        max_attempts = MAX_ATTEMPTS

        def __init__(self, server, spider, key, serializer=None):
            super().__init__(server, spider, key, serializer)
            self.leases_key = f"{self.key}:leases"
            self.attempts_key = f"{self.key}:attempts"
            self._pop = server.register_script(_POP_SCRIPT)

        def __len__(self):
            """Requests queued or leased: work is left while another worker still holds some."""
            return self.server.zcard(self.key) + self.server.zcard(self.leases_key)

        def pop(self, timeout=0):
            member = self._pop(
                keys=[self.key, self.leases_key, self.attempts_key],
                args=[time.time(), self.lease_seconds, self.max_attempts],
            )
            if member is None:
                return None
            request = self._decode_request(member)
            # A retried request was leased before: both leases end with its response.
            request.meta["kb_leases"] = [*request.meta.get("kb_leases", []), member]
            return request

        def ack(self, members) -> None:
            release_leases(self.server, self.key, members)

        def clear(self):
            super().clear()
            self.server.delete(self.leases_key, self.attempts_key)

    return LeasedPriorityQueue


@dataclasses.dataclass
class LeaseDone:
    """The last output of a callback in a worker: everything before it is in Redis, so its leases can go."""

    leases: list


def releases_lease(method):
    """Make a spider callback or errback end with LeaseDone for its request's leases (workers only).

    Errback output skips spider middlewares, so this wraps the methods
    themselves; wrapped, they keep their names, which is how scrapy-redis
    serialises a request's callback.
    """

    def lease_done(response_or_failure) -> list[LeaseDone]:
        request = getattr(response_or_failure, "request", None)
        leases = request.meta.get("kb_leases") if request is not None else None
        return [LeaseDone(leases)] if leases else []

    if inspect.isasyncgenfunction(method):  # parse_video

        @functools.wraps(method)
        async def async_wrapper(self, response):
            async for item in method(self, response):
                yield item
            for done in lease_done(response):
                yield done

        return async_wrapper

    @functools.wraps(method)
    def wrapper(self, response_or_failure):
        yield from method(self, response_or_failure) or ()
        yield from lease_done(response_or_failure)

    return wrapper


def worker_spider_class():
    """The articles spider as a scrapy-redis worker: its start URLs come from Redis unless it
    seeds the frontier, its validators from Redis (the writer keeps them there, a worker reads
    no SQLite), and every callback and errback ends by releasing its request's leases."""
    from .spiders.articles import ArticlesSpider

    class ArticlesWorker(ArticlesSpider):
        parse_robots = releases_lease(ArticlesSpider.parse_robots)
        robots_error = releases_lease(ArticlesSpider.robots_error)
        parse_sitemap = releases_lease(ArticlesSpider.parse_sitemap)
        parse_feed = releases_lease(ArticlesSpider.parse_feed)
        parse_page = releases_lease(ArticlesSpider.parse_page)
        parse_video = releases_lease(ArticlesSpider.parse_video)
        on_error = releases_lease(ArticlesSpider.on_error)

        def seeds_the_frontier(self) -> bool:
            return self.settings.getbool("KB_REDIS_SEED")  # `kb crawl --redis URL --seed`

        def load_known_pages(self) -> dict[str, dict]:
            return load_validators(self.settings.get("REDIS_URL"))

    return ArticlesWorker


class RedisItemsPipeline:
    """A worker's only pipeline: items go to the Redis items list, LeaseDone releases leases."""

    def __init__(self, crawler):
        from scrapy_redis import defaults
        from scrapy_redis.connection import from_settings

        self.crawler = crawler
        self.redis = from_settings(crawler.settings)
        self.queue_key_template = crawler.settings.get("SCHEDULER_QUEUE_KEY", defaults.SCHEDULER_QUEUE_KEY)

    def open_spider(self) -> None:
        self.queue_key = self.queue_key_template % {"spider": self.crawler.spider.name}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, LeaseDone):
            release_leases(self.redis, self.queue_key, item.leases)
        else:
            self.redis.rpush(ITEMS_KEY, encode_item(item))
        return item


def _url_key_dupefilter_class():
    from scrapy_redis.dupefilter import RFPDupeFilter

    from .urls import loops_back, request_key

    class UrlKeyDupeFilter(RFPDupeFilter):
        """scrapy-redis's shared seen-set, keyed and letting redirect loops through as the
        local crawl's RedirectLoopDupeFilter does (crawler.urls)."""

        def request_fingerprint(self, request):
            return request_key(request).hex()  # scrapy-redis keeps hex strings

        def request_seen(self, request) -> bool:
            return False if loops_back(request) else super().request_seen(request)

    return UrlKeyDupeFilter


def worker_settings(redis_url: str) -> dict:
    """The Scrapy settings that make the articles spider a scrapy-redis worker."""
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.LeasedPriorityQueue",
        "DUPEFILTER_CLASS": "crawler.distributed.UrlKeyDupeFilter",  # the name scrapy-redis reads
        "SCHEDULER_PERSIST": True,  # the frontier outlives any one worker
        "ITEM_PIPELINES": {"crawler.pipelines.DerivePipeline": 200, "crawler.distributed.RedisItemsPipeline": 300},
        # One output at a time, in order: a callback's LeaseDone reaches the pipeline after its items.
        "CONCURRENT_ITEMS": 1,
    }


def __getattr__(name: str):
    """The scrapy-redis subclasses, built on first use: only workers import scrapy-redis."""
    if name == "LeasedPriorityQueue":
        return _leased_queue_class()
    if name == "UrlKeyDupeFilter":
        return _url_key_dupefilter_class()
    raise AttributeError(name)
