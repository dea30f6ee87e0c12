"""The writer side of a distributed crawl against a real redis-server: items in, stored exactly once."""

import itertools
import json
import shutil
import subprocess
import time

import numpy as np
import pytest

from bench.common import free_port
from crawler.distributed import ITEMS_KEY, PROCESSING_KEY, VALIDATORS_KEY, BadItem, decode_item, encode_item, ingest
from crawler.items import Article, FetchFailure, Revisit
from kb import KnowledgeBase, storage

redis_lib = pytest.importorskip("redis", reason="the redis client is not installed")
REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="no redis-server (apt-get install redis-server)")


def article(n: int, text: str | None = None) -> Article:
    return Article(
        source="s",
        url=f"http://example.org/{n}",
        fetched_url=f"http://example.org/{n}",
        title=f"Page {n}",
        author=None,
        published=None,
        site_name="Example",
        language="en",
        description=None,
        text=text or f"Page {n} says linear algebra matters.\nSecond paragraph {n}.",
        links=[],
        etag=f'"e{n}"',
        body_hash=f"h{n}",
    )


@pytest.fixture
def redis(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis_lib.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis_lib.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield client
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.parametrize(
    "item",
    [
        article(1),
        FetchFailure("s", "http://example.org/x", "HTTP 503"),
        Revisit("s", "http://example.org/1", "gone", "404", confirmed=True),
    ],
)
def test_items_round_trip_through_json(item):
    assert decode_item(encode_item(item).encode()) == item


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\xff\xfe", "not JSON"),
        ("[1, 2", "not JSON"),
        ('{"type": "Spam", "fields": {}}', "no crawl item type"),
        ('{"fields": {}}', "no crawl item type"),
        ('{"type": "Article", "fields": {"url": "x"}}', "fields do not fit"),
        ('{"type": "Revisit", "fields": [1]}', "fields do not fit"),
    ],
)
def test_bad_items_are_named(data, reason):
    with pytest.raises(BadItem, match=reason):
        decode_item(data)


def test_the_writer_stores_every_item_once_and_records_the_run(redis, tmp_path):
    for item in (article(1), article(2), article(1), FetchFailure("s", "http://example.org/x", "HTTP 503")):
        redis.rpush(ITEMS_KEY, encode_item(item))
    redis.rpush(ITEMS_KEY, b"not json")
    db_path = str(tmp_path / "kb.db")
    run_id = ingest(redis, db_path, idle_seconds=0.2)
    db = storage.open_db(db_path)
    assert sorted(r["url"] for r in db["documents"].rows) == ["http://example.org/1", "http://example.org/2"]
    run = db["crawl_runs"].get(run_id)
    assert (run["status"], run["fetched"], run["new"], run["unchanged"], run["failed"]) == ("completed", 5, 2, 1, 2)
    assert json.loads(run["errors"]) == {"HTTP 503": 1, "bad item": 1}
    assert redis.llen(ITEMS_KEY) == redis.llen(PROCESSING_KEY) == 0
    assert json.loads(redis.hget(VALIDATORS_KEY, "http://example.org/2")) == {
        "etag": '"e2"',
        "last_modified": None,
        "body_hash": "h2",
    }


def test_an_item_a_killed_writer_left_is_stored_by_the_next(redis, tmp_path):
    redis.rpush(PROCESSING_KEY, encode_item(article(3)))  # moved, never stored: the writer died
    redis.rpush(ITEMS_KEY, encode_item(article(4)))
    db_path = str(tmp_path / "kb.db")
    ingest(redis, db_path, idle_seconds=0.2)
    db = storage.open_db(db_path)
    assert {r["url"] for r in db["documents"].rows} == {"http://example.org/3", "http://example.org/4"}
    assert redis.llen(PROCESSING_KEY) == 0


def test_a_stopped_writer_leaves_the_rest_waiting(redis, tmp_path):
    for n in range(5):
        redis.rpush(ITEMS_KEY, encode_item(article(n)))
    calls = []
    run_id = ingest(
        redis, str(tmp_path / "kb.db"), idle_seconds=5, should_stop=lambda: calls.append(1) or len(calls) > 2
    )
    run = storage.open_db(tmp_path / "kb.db")["crawl_runs"].get(run_id)
    assert run["status"] == "interrupted" and run["new"] == 2
    assert redis.llen(ITEMS_KEY) == 3 and redis.llen(PROCESSING_KEY) == 0


# The leased frontier (workers' side)

scrapy_redis = pytest.importorskip("scrapy_redis", reason="scrapy-redis is not installed")


@pytest.fixture
def queue(redis):
    import pickle

    import scrapy

    from crawler.distributed import _leased_queue_class

    class Spider(scrapy.Spider):
        name = "test"

    queue_class = _leased_queue_class()
    queue = queue_class(redis, Spider(), "%(spider)s:requests", serializer=pickle)
    queue.lease_seconds = 60
    return queue


def request(path, priority=0):
    import scrapy

    return scrapy.Request(f"http://example.org/{path}", priority=priority, meta={"kb_depth": 1})


def test_a_popped_request_is_leased_until_acknowledged(queue, redis):
    queue.push(request("low"))
    queue.push(request("high", priority=5))
    first = queue.pop()
    assert first.url.endswith("/high") and first.meta["kb_depth"] == 1
    assert len(queue) == 2  # one queued, one leased: work is not over
    queue.ack(first.meta["kb_leases"])
    assert len(queue) == 1
    second = queue.pop()
    assert second.url.endswith("/low") and queue.pop() is None
    queue.ack(second.meta["kb_leases"])
    assert len(queue) == 0 and redis.zcard(queue.leases_key) == 0


def test_an_expired_lease_goes_back_to_the_queue_then_is_dropped(queue):
    queue.push(request("crashy"))
    queue.lease_seconds = -1  # every lease is already due: as if each worker died holding it
    first = queue.pop()
    again = queue.pop()  # the expired lease went back, was popped again
    assert first.url == again.url and len(again.meta["kb_leases"]) == 1
    third = queue.pop()
    assert third.url == first.url
    assert queue.pop() is None and len(queue) == 0  # dropped after MAX_ATTEMPTS expiries


def test_a_retried_request_carries_both_leases(queue):
    queue.push(request("flaky"))
    popped = queue.pop()
    queue.push(popped.replace(dont_filter=True))  # what a retry does: the same request, queued again
    retried = queue.pop()
    assert len(retried.meta["kb_leases"]) == 2
    queue.ack(retried.meta["kb_leases"])
    assert len(queue) == 0


# Workers, a writer and a killed worker, end to end (real processes, real Redis, a local site)


def test_two_workers_one_killed_and_one_writer_store_every_page_exactly_once(redis, tmp_path):
    import os
    import signal
    import sys

    from bench.recrawl import GeneratedSite

    from .conftest import ROOT

    pages = 200
    url = f"redis://127.0.0.1:{redis.connection_pool.connection_kwargs['port']}/0"
    env = {**os.environ, "KB_REDIS_LEASE_SECONDS": "3"}
    db = tmp_path / "kb.db"
    with GeneratedSite(pages, validators=False) as site:
        sources = tmp_path / "sources.yml"
        sources.write_text(
            'user_agent: "kb-test (+https://example.org/kb)"\ndownload_delay: 0.2\nsources:\n'
            f"  - name: generated\n    start_urls: ['{site.base_url}/']\n    allow: ['/articles/']\n"
            "    max_pages: 100000\n"
        )

        def kb(*args):
            return subprocess.Popen(
                [sys.executable, "-m", "kb", *map(str, args)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        first = kb("crawl", "--redis", url, "--seed", "--sources", sources)
        # The delay keeps the first worker busy for 40 s alone: on a loaded machine the second one
        # takes seconds to start, and must still find pages left to take.
        deadline = time.monotonic() + 90
        while redis.llen(ITEMS_KEY) + redis.zcard("articles:requests:leases") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Started once there is work: on a loaded machine a worker takes longer to start than the idle time.
        writer = kb("ingest", "--redis", url, "--db", db, "--idle", "10", "--no-embed")
        second_log = tmp_path / "second.log"
        second = kb("crawl", "--redis", url, "--sources", sources, "--log-level", "DEBUG", "--log-file", second_log)
        while (
            not second_log.exists() or second_log.read_text().count("Crawled (200)") < 5
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second_log.read_text().count("Crawled (200)") >= 5, "the second worker never got going"
        second.send_signal(signal.SIGKILL)  # midway, holding leases
        second.wait(timeout=10)
        first_out = first.communicate(timeout=120)
        writer_out = writer.communicate(timeout=120)
    assert first.returncode == 0, first_out[1][-3000:]
    assert writer.returncode == 0, writer_out[1][-3000:]
    db_rows = storage.open_db(db)
    urls = [r["url"] for r in db_rows["documents"].rows]
    assert len(urls) == len(set(urls)) == pages  # every page, once
    run = next(iter(db_rows["crawl_runs"].rows_where(order_by="id desc", limit=1)))
    assert run["new"] == pages and run["failed"] == 0
    assert redis.llen(ITEMS_KEY) == redis.llen(PROCESSING_KEY) == redis.zcard("articles:requests:leases") == 0


def test_bad_redis_options_are_clear_errors(tmp_path):
    from .conftest import run_kb

    sources = tmp_path / "sources.yml"
    sources.write_text("sources:\n  - name: s\n    start_urls: ['http://127.0.0.1:9/']\n")
    seed_alone = run_kb("crawl", "--seed", "--sources", sources, "--db", tmp_path / "kb.db")
    assert seed_alone.returncode == 2 and "--seed needs --redis URL" in seed_alone.stderr
    vectors_alone = run_kb("crawl", "--worker-vectors", "--sources", sources, "--db", tmp_path / "kb.db")
    assert vectors_alone.returncode == 2 and "--worker-vectors needs --redis URL" in vectors_alone.stderr
    assert not (tmp_path / "kb.db").exists()
    for command in (
        ["crawl", "--redis", "redis://127.0.0.1:9/0", "--sources", sources],
        ["ingest", "--redis", "redis://127.0.0.1:9/0", "--db", tmp_path / "kb.db"],
        ["ingest", "--redis", "not-a-url", "--db", tmp_path / "kb.db"],
    ):
        result = run_kb(*command)
        assert result.returncode == 2 and "cannot reach Redis at" in result.stderr, result.stderr[-500:]
    assert not (tmp_path / "kb.db").exists()  # nothing created for a failed start


# Workers derive what depends on one document alone; the writer keeps it (issue 21)


def by_url(path) -> dict[str, list]:
    """What the analysis derives, keyed by URL and position instead of the ids another crawl gives."""
    from .conftest import sorted_rows

    return sorted_rows(
        path,
        {
            "quotes": (
                "select d.url, q.quote, q.kind, q.char_start, q.char_end, p.name, q.speaker_mention, q.cue, q.stance,"
                " round(q.stance_confidence, 6) from quotes q join documents d on d.id = q.document_id"
                " left join people p on p.id = q.person_id"
            ),
            "speakers": (
                "select d.url, q.char_start, p.name from quote_speakers s join quotes q on q.id = s.quote_id"
                " join documents d on d.id = q.document_id join people p on p.id = s.person_id"
            ),
            "authors": (
                "select d.url, p.name, d.analysis_note from documents d left join people p on p.id = d.author_id"
            ),
            "topics": (
                "select d.url, ps.seq, t.name, pt.mentions from passage_topics pt join topics t on t.id = pt.topic_id"
                " join passages ps on ps.id = pt.passage_id join documents d on d.id = ps.document_id"
            ),
            "people": "select name, verified from people",
            "band keys": "select d.url, b.key from minhash_bands b join documents d on d.id = b.document_id",
            "works": (
                "select d.url, (select min(c.url) from documents c where c.work_id = d.work_id) from documents d"
            ),
        },
    )


def passage_vectors(path) -> dict[tuple[str, int], np.ndarray]:
    """Each passage's unit vector, by its document's URL and its place in it."""
    db = storage.open_db(path)
    try:
        rows = db.execute(
            "select d.url, p.seq, v.vector from passage_vectors v join passages p on p.id = v.passage_id "
            "join documents d on d.id = p.document_id"
        ).fetchall()
    finally:
        db.close()
    return {(url, seq): (v := np.frombuffer(blob, "<f4")) / np.linalg.norm(v) for url, seq, blob in rows}


def test_workers_derive_each_article_and_the_writer_only_stores_it(redis, tmp_path, sample_site, crawled_db):
    from .conftest import run_kb

    url = f"redis://127.0.0.1:{redis.connection_pool.connection_kwargs['port']}/0"
    sources = tmp_path / "sources.yml"
    sources.write_text(sample_site.sources_yaml())
    worker = run_kb("crawl", "--redis", url, "--seed", "--sources", sources, "--worker-vectors", timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    articles = [i for i in map(decode_item, redis.lrange(ITEMS_KEY, 0, -1)) if isinstance(i, Article)]
    assert articles and all(a.derived and a.derived["statements_key"] and a.derived["band_keys"] for a in articles)
    assert all(a.derived["vectors"]["passages"] for a in articles)

    db = tmp_path / "kb.db"
    writer = run_kb("ingest", "--redis", url, "--db", db, "--idle", "1", timeout=300)
    assert writer.returncode == 0, writer.stderr[-3000:]
    assert "statements of 0 new or changed documents derived" in writer.stderr  # nothing parsed again
    assert "embedded 0 passages" in writer.stderr  # nor encoded: the workers' vectors were kept
    local_vectors, vectors = passage_vectors(crawled_db), passage_vectors(db)
    assert vectors.keys() == local_vectors.keys()
    assert all(float(vectors[key] @ local_vectors[key]) > 0.999 for key in vectors)
    run = next(iter(storage.open_db(db)["crawl_runs"].rows_where(order_by="id desc", limit=1)))
    assert sum(c.get("derived by workers", 0) for c in json.loads(run["per_source"]).values()) == len(articles)
    local, distributed = by_url(crawled_db), by_url(db)
    for table in local:
        assert distributed[table] == local[table], table
    assert local["quotes"] and local["topics"] and local["band keys"]


def test_the_writer_keeps_a_workers_band_keys_and_does_not_hash_again(redis, tmp_path):
    from kb.analysis.derive import DocumentDeriver

    page = article(1, "Sample content. " + "A paragraph about the linear algebra a practitioner uses. " * 20)
    page.derived = DocumentDeriver().derive(vars(page), [(0, len(page.text))])
    computed = page.derived["band_keys"]
    page.derived["band_keys"] = [7, -7, 2**63 - 1]  # not what hashing gives: seen if kept
    bad = article(2, "Sample content. Another page, whose worker sent keys that are not band keys. " * 5)
    bad.derived = {**DocumentDeriver().derive(vars(bad), [(0, len(bad.text))]), "band_keys": ["x", 2**64]}
    for item in (page, bad):
        redis.rpush(ITEMS_KEY, encode_item(item))
    db_path = tmp_path / "kb.db"
    ingest(redis, str(db_path), idle_seconds=0.2)
    KnowledgeBase(db_path).analyze(progress=False)
    db = storage.open_db(db_path)
    keys = {
        url: {key for _, key in rows}
        for url, rows in itertools.groupby(
            db.execute("select d.url, b.key from minhash_bands b join documents d on d.id = b.document_id order by 1"),
            key=lambda row: row[0],
        )
    }
    assert keys[page.url] == {7, -7, 2**63 - 1} and len(computed) > 3
    assert len(keys[bad.url]) > 3 and "x" not in keys[bad.url]  # hashed by the analysis instead


def test_a_derivation_the_writer_cannot_keep_is_derived_again(redis, tmp_path):
    from kb.analysis.derive import DerivedStore

    page = article(1, 'Sample content. "You need linear algebra first," said Daphne Koller at the meeting.')
    writer = DerivedStore()
    right_key = f"{writer.statements_digest}:{storage.document_hash(vars(page))}"
    topics, people = writer.topics_digest, writer.people_digest
    other = article(2)  # derived with another people.yml
    other_key = f"{writer.statements_digest}:{storage.document_hash(vars(other))}"
    other.derived = {"statements_key": other_key, "people_digest": "x", "topics_digest": topics, "statements": []}
    other.derived |= {"author": None, "note": None, "topics": {}}
    page.derived = {"statements_key": right_key, "people_digest": people, "topics_digest": topics}
    page.derived |= {"author": None, "note": None}
    page.derived["statements"] = ["not a statement"]
    for item in (page, other):
        redis.rpush(ITEMS_KEY, encode_item(item))
    db_path = tmp_path / "kb.db"
    run_id = ingest(redis, str(db_path), idle_seconds=0.2)
    db = storage.open_db(db_path)
    assert db["documents"].count == 2  # stored; their statements are left to kb analyze
    assert db.execute("select count(*) from documents where statements_key is not null").fetchone()[0] == 0
    assert "derived by workers" not in db["crawl_runs"].get(run_id)["per_source"]


def test_a_workers_vectors_are_kept_only_when_they_fit(redis, tmp_path):
    import base64

    from embeddings.model import model_name
    from kb.analysis.derive import DocumentDeriver

    def vectors(model: str, blob: str, dimensions: int = 384) -> dict:
        return {"model": model, "dimensions": dimensions, "passages": {h: blob for h in page.derived["topics"]}}

    unit = base64.b64encode(np.eye(384, dtype="<f4")[0].tobytes()).decode()
    sent = {
        1: lambda: vectors(model_name(), unit),  # fits: kept
        2: lambda: vectors(model_name(), base64.b64encode(b"\0" * 8).decode()),  # two dimensions
        3: lambda: vectors(model_name(), "not base64 **"),
        4: lambda: vectors("another/model", unit),
        5: lambda: "not vectors",
    }
    for n, make in sent.items():
        page = article(n, f"Sample content {n}. One paragraph about the calculus a practitioner uses.")
        page.derived = DocumentDeriver().derive(vars(page), [(0, len(page.text))])
        page.derived["vectors"] = make()
        redis.rpush(ITEMS_KEY, encode_item(page))
    db_path = tmp_path / "kb.db"
    ingest(redis, str(db_path), idle_seconds=0.2, model=model_name())
    db = storage.open_db(db_path)
    assert db["documents"].count == 5  # every page stored; the vectors that did not fit are left to kb embed
    kept = db.execute("select d.url from passage_vectors v join passages p on p.id = v.passage_id "
                      "join documents d on d.id = p.document_id").fetchall()  # fmt: skip
    assert kept == [(article(1).url,)]


def test_a_worker_reads_a_video_pages_captions_and_releases_its_leases(redis, tmp_path):
    from .conftest import run_kb
    from .sites import Page, RoutedSite

    url = f"redis://127.0.0.1:{redis.connection_pool.connection_kwargs['port']}/0"
    page = Page(
        '<html><head><title>A sample talk</title></head><body><p>Sample content.</p><video src="/talk.mp4">'
        '<track kind="captions" src="/talk.vtt" srclang="en"></video></body></html>'
    )
    vtt = Page(
        "WEBVTT\n\n00:00:02.000 --> 00:00:05.000\n<v Ada Quill>Sample words on algebra.\n", content_type="text/vtt"
    )
    with RoutedSite({"/talk": page, "/talk.vtt": vtt}) as site:
        sources = tmp_path / "sources.yml"
        sources.write_text(
            f"download_delay: 0\nsources:\n  - name: talks\n    type: captions\n    robots_sitemaps: false\n"
            f"    start_urls: ['{site.base_url}/talk']\n"
        )
        worker = run_kb("crawl", "--redis", url, "--seed", "--sources", sources, timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    items = list(map(decode_item, redis.lrange(ITEMS_KEY, 0, -1)))
    assert [(i.url, i.media_url, i.segments[0]["speaker"]) for i in items] == [
        (f"{site.base_url}/talk", f"{site.base_url}/talk.mp4", "Ada Quill")
    ]
    assert redis.zcard("articles:requests:leases") == 0  # the video page's and the captions' leases released
