"""crawler.store.ItemStore: a run's items stored without Scrapy, counted honestly."""

import json

import pytest

from crawler.items import Article, FetchFailure, Revisit
from crawler.store import ItemStore
from kb import storage

ARTICLE = Article(
    source="s",
    url="http://example.org/a",
    fetched_url="http://example.org/a",
    title="On gradients",
    author=None,
    published="2024-01-02",
    site_name="Example",
    language="en",
    description=None,
    text="Gradient descent needs calculus.\nLinear algebra helps too.",
    links=[],
)


def test_a_run_of_items_is_stored_once_and_counted(tmp_path):
    store = ItemStore(str(tmp_path / "kb.db"))
    run_id = store.open()
    store.store(ARTICLE)
    store.store(ARTICLE)  # delivered twice: stored once
    store.store(FetchFailure("s", "http://example.org/b", "HTTP 503"))
    store.store(Revisit("s", "http://example.org/a", "unchanged", "304"))
    with pytest.raises(TypeError, match="not a crawl item: dict"):
        store.store({"url": "http://example.org/c"})
    store.close("completed", fetched=4)
    db = storage.open_db(tmp_path / "kb.db")
    assert db["documents"].count == 1 and db["passages"].count == 2
    run = db["crawl_runs"].get(run_id)
    assert (run["status"], run["fetched"], run["new"], run["unchanged"], run["failed"]) == ("completed", 4, 1, 2, 1)
    assert json.loads(run["errors"]) == {"HTTP 503": 1}
    assert json.loads(run["per_source"])["s"] == {"new": 1, "unchanged": 2, "failed": 1}


def test_a_store_needs_a_database_path():
    with pytest.raises(ValueError, match="no database path"):
        ItemStore("")
