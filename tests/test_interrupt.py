"""kill -9 in the middle of a crawl: the database stays sound, and the next run finishes the job."""

import os
import signal
import subprocess
import sys
import time

import sqlite_utils

from kb import storage
from kb.web.serve import make_datasette

from .conftest import ROOT, datasette_get
from .sites import RoutedSite, html_page

TEXT = "Gradient descent, momentum and Adam are easier to tune when you know the calculus. " * 3


def test_sigkill_midway_leaves_a_sound_database_and_the_next_run_finishes(tmp_path):
    pages = {f"/articles/{i}.html": html_page(f"Article {i}", TEXT + f" Number {i}.") for i in range(60)}
    for page in pages.values():
        page.delay = 0.6
    routes = {"/": html_page("Home", "Index.", links=tuple(pages)), **pages}
    db_path = tmp_path / "kb.db"
    storage.open_db(db_path).close()
    datasette = make_datasette(db_path)
    datasette_get(datasette, "/kb.json")  # started (model loaded) before the crawl begins
    with RoutedSite(routes) as site:
        sources = tmp_path / "sources.yml"
        sources.write_text(
            f"download_delay: 0\nsources:\n  - name: site\n    start_urls: ['{site.base_url}/']\n"
            "    allow: ['/articles/']\n"
        )
        command = [sys.executable, "-m", "kb", "crawl", "--sources", str(sources), "--db", str(db_path), "--no-embed"]
        crawl = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        stored = 0
        while stored < 5 and time.monotonic() < deadline:  # wait until it is really writing
            time.sleep(0.2)
            if db_path.exists():
                try:
                    stored = sqlite_utils.Database(db_path).execute("select count(*) from documents").fetchone()[0]
                except Exception:
                    stored = 0
        # Datasette keeps answering while the crawl writes.
        response = datasette_get(datasette, "/kb/documents.json?_shape=array&_size=100")
        assert response.status_code == 200 and len(response.json()) >= 5
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait(timeout=10)

        db = storage.open_db(db_path)
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        partial = db["documents"].count
        assert 5 <= partial < 60
        # Every stored document has all its passages: each was committed with them.
        assert (
            db.execute("select count(*) from documents where id not in (select document_id from passages)").fetchone()[
                0
            ]
            == 0
        )
        assert next(db["crawl_runs"].rows)["status"] == "running"
        db.close()

        again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]  # the lock died with the killed process
    db = sqlite_utils.Database(db_path)
    assert db["documents"].count == 60
    assert [r["status"] for r in db.query("select status from crawl_runs order by id")] == ["killed", "completed"]
