"""`kb crawl` as cron runs it: the lock, the time budget, quiet output, a log file, honest exit codes."""

import json
import subprocess
import sys
import time

import sqlite_utils

from kb import storage

from .conftest import ROOT, crawl
from .sites import Page, RoutedSite, html_page

TEXT = "Probability and statistics help you judge whether one model is really better than another. " * 3


def site_routes(pages: int, delay: float = 0.0) -> dict:
    routes = {f"/articles/{i}.html": html_page(f"Article {i}", TEXT + f" Number {i}.") for i in range(pages)}
    for page in routes.values():
        page.delay = delay
    routes["/"] = html_page("Home", "Index.", links=tuple(routes))
    return routes


def sources(site, *extra_sources: str) -> str:
    return (
        "download_delay: 0\nsources:\n  - name: site\n"
        f"    start_urls: ['{site.base_url}/']\n    allow: ['/articles/']\n"
    ) + "".join(extra_sources)


def test_a_second_crawl_exits_at_once_while_the_first_holds_the_lock(tmp_path):
    db_path = tmp_path / "kb.db"
    storage.open_db(db_path).close()
    with RoutedSite(site_routes(2)) as site, storage.writer_lock(db_path):
        result = crawl(sources(site), db_path, tmp_path)
        assert site.requests == []
    assert result.returncode == 3
    assert "another crawl is running" in result.stderr and "pid" in result.stderr
    assert sqlite_utils.Database(db_path)["crawl_runs"].count == 0
    # Once the lock is free, the crawl runs.
    with RoutedSite(site_routes(2)) as site:
        assert crawl(sources(site), db_path, tmp_path).returncode == 0


def test_a_time_budget_cuts_the_crawl_short_and_the_next_run_finishes(tmp_path):
    db_path = tmp_path / "kb.db"
    with RoutedSite(site_routes(30, delay=1.0)) as site:  # 30 slow pages: several seconds at any concurrency
        first = crawl(sources(site), db_path, tmp_path, "--time-budget", "2")
        second = crawl(sources(site), db_path, tmp_path)
    assert first.returncode == 1 and "the crawl was interrupted" in first.stderr
    db = sqlite_utils.Database(db_path)
    runs = list(db.query("select status, new, unchanged, duration_s from crawl_runs order by id"))
    assert runs[0]["status"] == "interrupted" and 0 < runs[0]["new"] < 30
    assert runs[0]["duration_s"] < 2 + 3  # stops at the budget; requests in flight finish
    assert second.returncode == 0 and runs[1]["status"] == "completed"
    assert runs[0]["new"] + runs[1]["new"] == 30 and db["documents"].count == 30


def test_quiet_prints_nothing_when_all_is_well_and_the_log_file_gets_everything(tmp_path):
    log = tmp_path / "crawl.log"
    with RoutedSite(site_routes(3)) as site:
        result = crawl(sources(site), tmp_path / "kb.db", tmp_path, "--quiet", "--log-file", log)
    assert result.returncode == 0
    assert result.stderr == "" and result.stdout == ""
    text = log.read_text()
    assert "[scrapy.core.engine]" in text  # Scrapy's own log
    assert "[kb] crawl run 1 completed" in text and "3 new" in text
    assert "listening on port" not in text  # no telnet console or remote-control server on a cron machine


def test_a_source_that_fails_entirely_makes_the_run_fail(tmp_path):
    broken_routes = {"/": Page("down", 500, "text/plain")}
    with RoutedSite(site_routes(2)) as good, RoutedSite(broken_routes) as broken:
        extra = f"  - name: broken\n    start_urls: ['{broken.base_url}/']\n"
        result = crawl(sources(good, extra), tmp_path / "kb.db", tmp_path, "--quiet")
    assert result.returncode == 1
    assert "problem: source 'broken' failed entirely" in result.stderr  # quiet still reports problems
    db = sqlite_utils.Database(tmp_path / "kb.db")
    assert db["documents"].count == 2  # the healthy source was stored
    counts = json.loads(next(db["crawl_runs"].rows)["per_source"])
    assert counts == {"site": {"new": 2}, "broken": {"failed": 1}}


def test_two_crawls_started_at_once_one_crawls_and_the_other_exits_locked(tmp_path):
    db_path = tmp_path / "kb.db"
    with RoutedSite(site_routes(20, delay=0.5)) as site:  # several seconds of crawling
        sources_file = tmp_path / "sources.yml"
        sources_file.write_text(sources(site))
        command = [
            sys.executable,
            "-m",
            "kb",
            "crawl",
            "--sources",
            str(sources_file),
            "--db",
            str(db_path),
            "--no-embed",
        ]
        processes = [
            subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        ended: dict[int, float] = {}
        deadline = time.monotonic() + 120
        while len(ended) < 2 and time.monotonic() < deadline:
            ended.update(
                {i: time.monotonic() for i, p in enumerate(processes) if i not in ended and p.poll() is not None}
            )
            time.sleep(0.05)
        finished = [(p.returncode, p.communicate(timeout=10)[1], ended[i]) for i, p in enumerate(processes)]
    (winner,), (loser,) = [f for f in finished if f[0] == 0], [f for f in finished if f[0] != 0]
    assert loser[0] == 3 and "another crawl is running" in loser[1]
    assert loser[2] < winner[2]  # it did not wait for the lock
    db = sqlite_utils.Database(db_path)
    assert [r["status"] for r in db["crawl_runs"].rows] == ["completed"]
    assert db["documents"].count == 20
