"""Crawling with many workers through Redis (scrapy-redis), one writer to SQLite: the writer's side.

Workers push what they crawl to a Redis list (ITEMS_KEY) as JSON, never to
SQLite. The single writer, `kb ingest`, moves one item at a time from that
list to a processing list (LMOVE, atomic), stores it with the same ItemStore
a local crawl uses, then removes it. A writer killed midway leaves at most
one item in the processing list; the next writer puts it back first.
Storing is idempotent (a document is keyed by its URL, and the same content
is "unchanged"), so an item delivered twice is stored once.

The writer also keeps VALIDATORS_KEY, a Redis hash of each stored page's
validators (ETag, Last-Modified, body hash), for workers to make the same
conditional requests a local crawl makes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable

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


def ingest(redis, db_path: str, idle_seconds: float = 30.0, model: str | None = None,
           should_stop: Callable[[], bool] = lambda: False) -> int:
    """Drain the items list into the database until it stays empty for ``idle_seconds``; returns the run id.

    ``redis`` is a redis.Redis client. ``should_stop`` is checked between
    items (a signal handler sets it): the run then ends as interrupted, the
    items left wait in Redis.
    """
    store = ItemStore(db_path, sources_file=f"redis:{ITEMS_KEY}", model=model)
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
        redis.hset(VALIDATORS_KEY, item.url, json.dumps(
            {"etag": item.etag, "last_modified": item.last_modified, "body_hash": item.body_hash}))


# The workers' side: a frontier whose popped requests are leased, not lost.

LEASE_SECONDS = 120.0  # a request not acknowledged within this is handed to another worker
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
            member = self._pop(keys=[self.key, self.leases_key, self.attempts_key],
                               args=[time.time(), self.lease_seconds, self.max_attempts])
            if member is None:
                return None
            request = self._decode_request(member)
            # A retried request was leased before: both leases end with its response.
            request.meta["kb_leases"] = [*request.meta.get("kb_leases", []), member]
            return request

        def ack(self, members) -> None:
            if members:
                self.server.zrem(self.leases_key, *members)
                self.server.hdel(self.attempts_key, *members)

        def clear(self):
            super().clear()
            self.server.delete(self.leases_key, self.attempts_key)

    return LeasedPriorityQueue
