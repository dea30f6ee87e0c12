"""The `kb` command line: a thin layer over crawler.run, kb.storage and kb.serve.

Exit codes: 0 success; 1 the work ran but did not complete (a crawl that was
interrupted or failed, an input that could not be extracted); 2 bad usage or
configuration (nothing was done).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import click

from . import storage
from .serve import ServeError, serve as serve_datasette

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
FETCH_MAX_BYTES = 10 * 1024 * 1024


def fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="math-ml-kb")
def cli() -> None:
    """A knowledge base on how much math machine-learning practitioners need."""


@cli.command()
@click.option("--sources", "sources_path", default="sources.yml", show_default=True,
              type=click.Path(dir_okay=False), help="YAML file listing the sites to crawl.")
@click.option("--db", "db_path", default="kb.db", show_default=True,
              type=click.Path(dir_okay=False), help="SQLite file to write (created if missing).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def crawl(sources_path: str, db_path: str, log_level: str) -> None:
    """Crawl the sources and store every article in the database."""
    from crawler.run import run_crawl
    from crawler.sources import SourcesError, load_sources

    try:
        config = load_sources(sources_path)
    except SourcesError as e:
        fail(str(e))
    try:
        storage.open_db(db_path).close()
    except storage.StorageError as e:
        fail(str(e))
    run_id = run_crawl(config, db_path, log_level=log_level.upper())
    db = storage.open_db(db_path)
    run = db["crawl_runs"].get(run_id) if run_id else None
    if run is None:
        fail("the crawl did not start (see the log above)", EXIT_INCOMPLETE)
    click.echo(run_summary(run), err=True)
    if run["status"] != "completed":
        sys.exit(EXIT_INCOMPLETE)


def run_summary(run: dict) -> str:
    counts = ", ".join(f"{run[k]} {k}" for k in ("fetched", "new", "changed", "unchanged", "failed", "skipped"))
    return f"crawl run {run['id']} {run['status']} in {run['duration_s']:.1f}s: {counts}"


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--jsonl", is_flag=True, help="One JSON object per input, for scripts.")
def extract(inputs: tuple[str, ...], jsonl: bool) -> None:
    """Extract article fields from files or URLs, exactly as a crawl would."""
    from crawler.extract import FIELDS, ExtractionError, extract_article

    failures = 0
    for item in inputs:
        try:
            html, url, language = read_input(item)
            record = {"input": item, **extract_article(html, url, language)}
        except (ExtractionError, OSError) as e:
            failures += 1
            record = {"input": item, "error": str(e)}
        if jsonl:
            click.echo(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            click.echo(f"{item}: error: {record['error']}\n")
        else:
            for field in FIELDS:
                value = record[field]
                if field == "text":
                    value = f"{len(value.split())} words: {value[:200]}…" if len(value) > 200 else value
                click.echo(f"{field:>12}: {value}")
            click.echo()
    if failures:
        sys.exit(EXIT_INCOMPLETE)


def read_input(item: str) -> tuple[bytes, str, str | None]:
    """(body, url, content-language) of a local file or an http(s) URL."""
    if item.startswith(("http://", "https://")):
        request = urllib.request.Request(item, headers={"User-Agent": "math-ml-kb/0.1 (kb extract)"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                content_type = response.headers.get_content_type()
                if content_type not in ("text/html", "application/xhtml+xml"):
                    raise OSError(f"not HTML ({content_type})")
                body = response.read(FETCH_MAX_BYTES + 1)
                if len(body) > FETCH_MAX_BYTES:
                    raise OSError(f"larger than {FETCH_MAX_BYTES} bytes")
                return body, response.url, response.headers.get("Content-Language")
        except urllib.error.URLError as e:
            raise OSError(f"cannot fetch: {e.reason}") from None
    path = Path(item)
    if not path.is_file():
        raise OSError("no such file")
    return path.read_bytes(), path.resolve().as_uri(), None


@cli.command()
@click.option("--db", "db_path", default="kb.db", show_default=True, type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--metadata", "metadata_path", type=click.Path(dir_okay=False),
              help="Datasette metadata (default: the project's metadata.yml).")
def serve(db_path: str, host: str, port: int, metadata_path: str | None) -> None:
    """Publish the database with Datasette (UI and JSON API)."""
    click.echo(f"Serving {db_path} at http://{host}:{port}/kb (Ctrl-C to stop)", err=True)
    try:
        serve_datasette(db_path, host, port, metadata_path)
    except ServeError as e:
        fail(str(e))


@cli.command()
@click.option("--db", "db_path", default="demo.db", show_default=True, type=click.Path(dir_okay=False),
              help="Demo database; replaced on every run.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port for Datasette.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
def demo(db_path: str, port: int, no_serve: bool) -> None:
    """Serve the sample site, crawl it with the real crawler, and open it in Datasette."""
    from .demo import SampleSite

    db = Path(db_path)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    with SampleSite() as site:
        sources = db.with_name(db.stem + "-sources.yml")
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        click.echo(f"Sample site at {site.base_url}; crawling it into {db} ...", err=True)
        code = subprocess.call(
            [sys.executable, "-m", "kb", "crawl", "--sources", str(sources), "--db", str(db),
             "--log-level", "WARNING"]
        )
        if code != 0:
            fail("the demo crawl did not complete", EXIT_INCOMPLETE)
        if no_serve:
            return
        click.echo(f"Open http://127.0.0.1:{port}/kb in a browser.", err=True)
        serve_datasette(db, "127.0.0.1", port)
