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
