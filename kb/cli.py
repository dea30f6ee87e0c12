"""The `kb` command line: a thin layer over crawler.run, kb.storage and kb.web.serve.

Exit codes: 0 success; 1 the work ran but did not complete (a crawl that was
cut short or interrupted, a source that failed entirely, an input that could
not be extracted); 2 bad usage or configuration (nothing was done); 3 another
crawl holds the database's lock (nothing was done).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import click

from . import storage
from .analysis.people import DEFAULT_PEOPLE_FILE, PeopleError, load_people
from .analysis.relevance import DEFAULT_RELEVANCE_FILE
from .analysis.stance import DEFAULT_STANCES_FILE
from .analysis.topics import DEFAULT_TOPICS_FILE
from .api import KbError, KnowledgeBase, Locked
from .search.keyword_index import sync_index

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
FETCH_MAX_BYTES = 10 * 1024 * 1024


def fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def refuse_foreign_db(db_path: str) -> None:
    """Exit 2, before anything opens it, if db_path is a file but not this project's database."""
    try:
        storage.check_knowledge_base(db_path)
    except storage.StorageError as e:
        fail(str(e))


# Options several commands share, declared once.
db_option = click.option(
    "--db",
    "db_path",
    default="kb.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The knowledge base's SQLite file.",
)


def config_file_option(name: str, default, help: str):
    """``--NAME``: one of the hand-edited YAML files, the packaged default unless given."""
    return click.option(
        f"--{name}",
        f"{name}_path",
        default=str(default),
        show_default=f"{name}.yml",
        type=click.Path(dir_okay=False),
        help=help,
    )


people_option = config_file_option("people", DEFAULT_PEOPLE_FILE, "The curated list of people.")
stances_option = config_file_option("stances", DEFAULT_STANCES_FILE, "The viewpoints, with their cues and examples.")
topics_option = config_file_option("topics", DEFAULT_TOPICS_FILE, "The math topics passages are tagged with.")
relevance_option = config_file_option(
    "relevance", DEFAULT_RELEVANCE_FILE, "The question, with examples and counterexamples."
)


@click.group()
@click.version_option(package_name="math-ml-kb")
def cli() -> None:
    """A knowledge base on how much math machine-learning practitioners need."""


MODEL_HELP = (
    "Sentence-transformers model name or local directory (default: the model of the "
    "database's vectors, else $KB_MODEL, else sentence-transformers/all-MiniLM-L6-v2)."
)


@cli.command()
@click.option(
    "--sources",
    "sources_path",
    default="sources.yml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="YAML file listing the sites to crawl.",
)
@click.option(
    "--db",
    "db_path",
    default="kb.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file to write (created if missing).",
)
@click.option("--no-embed", is_flag=True, help="Do not embed the new passages (run `kb embed` later).")
@click.option("--model", default=None, help=MODEL_HELP)
@people_option
@click.option(
    "--time-budget",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds the whole run may take; a crawl cut short exits 1 and the next run goes on.",
)
@click.option("--quiet", is_flag=True, help="Print nothing unless the run did not complete (for cron).")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append the crawl's log and its summary to this file.",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    metavar="URL",
    help="Crawl as a worker sharing the frontier in Redis (redis://HOST:PORT/DB); items go to "
    "Redis for `kb ingest`, no database is written.",
)
@click.option("--seed", is_flag=True, help="With --redis: start a new crawl (clear the frontier, push the start URLs).")
@click.option(
    "--worker-vectors",
    is_flag=True,
    help="With --redis: embed each article's passages on this worker too (it loads the model), so "
    "`kb ingest` stores the vectors instead of encoding them.",
)
def crawl(
    sources_path: str,
    db_path: str,
    no_embed: bool,
    model: str | None,
    people_path: str,
    time_budget: float | None,
    quiet: bool,
    log_file: str | None,
    log_level: str,
    redis_url: str | None,
    seed: bool,
    worker_vectors: bool,
) -> None:
    """Crawl the sources, store every article, embed new passages and analyze them.

    Exit status: 0 completed; 1 cut short, interrupted, or a source failed
    entirely; 2 bad configuration; 3 another crawl holds the database's lock.
    """
    if seed and not redis_url:
        fail("--seed needs --redis URL")
    if worker_vectors and not redis_url:
        fail("--worker-vectors needs --redis URL")
    kb = KnowledgeBase(db_path, model=model, people=people_path)
    with user_errors():
        config = kb.crawl_config(sources_path)
    if not config.names_contact and not quiet:
        click.echo(
            f"warning: {sources_path}: user_agent names no contact URL or e-mail address; site owners cannot reach you",
            err=True,
        )
    if redis_url:
        run_redis_worker(kb, config, redis_url, seed, log_level, time_budget, log_file, quiet, worker_vectors)
        return
    # With a log file Scrapy writes there, not to the terminal: keep the full log.
    scrapy_level = "ERROR" if quiet and not log_file else log_level.upper()
    with user_errors():
        report = kb.crawl(
            config,
            embed=not no_embed,
            time_budget=time_budget,
            log_level=scrapy_level,
            log_file=log_file,
            progress=not quiet,
        )
    finish(report, quiet=quiet, log_file=log_file)


@contextlib.contextmanager
def user_errors():
    """The API's exceptions as the documented exit codes: 3 locked, 2 any other mistake."""
    try:
        yield
    except Locked as e:
        fail(str(e), EXIT_LOCKED)
    except KbError as e:
        fail(str(e))


def finish(report, quiet: bool = False, log_file: str | None = None) -> None:
    """Print a run's summary (and log it); exit 1 if it did not complete."""
    lines = report.lines + [f"problem: {p}" for p in report.problems]
    if log_file:
        with open(log_file, "a", encoding="utf-8") as log:
            log.write("".join(f"{storage.now()} [kb] {line}\n" for line in lines))
    if report.problems or not quiet:
        for line in lines:
            click.echo(line, err=True)
    if report.problems:
        sys.exit(EXIT_INCOMPLETE)


def redis_client(redis_url: str):
    """A connected client for ``redis_url``, or exit 2 saying why not."""
    try:
        import redis as redis_lib

        client = redis_lib.Redis.from_url(redis_url)
        client.ping()
    except Exception as e:  # ImportError, a bad URL, redis.ConnectionError
        fail(f"cannot reach Redis at {redis_url}: {e}")
    return client


def run_redis_worker(
    kb: KnowledgeBase,
    config,
    redis_url: str,
    seed: bool,
    log_level: str,
    time_budget: float | None,
    log_file: str | None,
    quiet: bool,
    vectors: bool = False,
) -> None:
    """`kb crawl --redis`: one scrapy-redis worker; exit 0 when the shared frontier ran dry."""
    from crawler.run import run_worker

    redis_client(redis_url)
    level = log_level.upper() if not quiet else "ERROR"
    stats = run_worker(
        config, redis_url, seed, level, time_budget, log_file, kb.model, kb.people_path, kb.topics_path, vectors
    )
    reason = stats.get("finish_reason", "?")
    line = (
        f"worker {'(seeded) ' if seed else ''}{reason}: {stats.get('downloader/response_count', 0)} fetched, "
        f"{stats.get('item_scraped_count', 0)} items to Redis"
    )
    if reason != "finished" or not quiet:
        click.echo(line, err=True)
    if reason != "finished":
        sys.exit(EXIT_INCOMPLETE)


@cli.command()
@click.option("--redis", "redis_url", required=True, metavar="URL", help="Redis the workers push items to.")
@db_option
@click.option(
    "--idle",
    "idle_seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Stop after the items list has been empty this many seconds.",
)
@click.option("--no-embed", is_flag=True, help="Do not embed the new passages (run `kb embed` later).")
@people_option
def ingest(redis_url: str, db_path: str, idle_seconds: float, no_embed: bool, people_path: str) -> None:
    """The single writer of a distributed crawl: store the items workers pushed to Redis.

    Idempotent: an item delivered twice is stored once. Ctrl-C or SIGTERM
    finishes the current item and ends the run as interrupted; the rest wait
    in Redis. Exit status as `kb crawl`.
    """
    import signal

    client = redis_client(redis_url)
    stop = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.append(True))
    kb = KnowledgeBase(db_path, people=people_path)
    with user_errors():
        report = kb.ingest(client, idle_seconds, embed=not no_embed, should_stop=lambda: bool(stop))
    finish(report)


@cli.command("analyze")
@db_option
@people_option
@topics_option
@stances_option
@relevance_option
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Derive everything again, not only what changed (an interrupted one: a plain `kb analyze` goes on).",
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds the statements step may take; cut short, it exits 1 and the next analysis goes on.",
)
def analyze_command(
    db_path: str,
    people_path: str,
    topics_path: str,
    stances_path: str,
    relevance_path: str,
    everything: bool,
    time_budget: float | None,
) -> None:
    """People, republished copies, statements with speakers, math topics, relevance and stances.

    Only what changed since the last analysis is derived again: documents
    that changed, passages whose text or topics.yml changed.
    """
    kb = KnowledgeBase(db_path, people=people_path, topics=topics_path, stances=stances_path, relevance=relevance_path)
    with user_errors():
        report = kb.analyze(everything=everything, time_budget=time_budget, progress=True)
    finish(report)


def quote_record(name: str, quote) -> dict:
    """One line of `kb quotes --jsonl`."""
    return {
        "file": name,
        "kind": quote.kind,
        "quote": quote.quote,
        "start": quote.start,
        "end": quote.end,
        "speaker": quote.speaker,
        "speakers": [p.name for p in quote.people],
        "speaker_mention": quote.speaker_mention,
        "speaker_start": quote.speaker_start,
        "speaker_end": quote.speaker_end,
        "speaker_type": quote.speaker_type,
        "cue": quote.cue,
        "cue_start": quote.cue_start,
        "cites": quote.cites,
    }


@cli.command("quotes")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--jsonl", is_flag=True, help="One JSON object per quotation, for scripts.")
@click.option("--author", default=None, help="Who wrote the files (for quotations in the first person).")
@people_option
def quotes_command(files: tuple[str, ...], jsonl: bool, author: str | None, people_path: str) -> None:
    """Extract quotations, reported speech and their speakers from plain-text files."""
    from .analysis.nlp import PipelineError
    from .analysis.people import Directory
    from .analysis.quotes import DocumentText, extract_many

    try:
        directory = Directory(load_people(people_path))
    except PeopleError as e:
        fail(str(e))
    failures, readable = 0, []
    for name in files:
        try:
            readable.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            click.echo(f"{name}: cannot read: {e}", err=True)
            failures += 1
    try:
        extractions = extract_many((DocumentText(text, author) for _, text in readable), directory)
        for (name, _), extraction in zip(readable, extractions):
            if extraction.note:
                click.echo(f"{name}: {extraction.note}", err=True)
            for quote in extraction.quotes:
                if jsonl:
                    click.echo(json.dumps(quote_record(name, quote), ensure_ascii=False))
                else:
                    said = (
                        "(unknown speaker)"
                        if not quote.speaker_type
                        else " and ".join(p.name for p in quote.people) or quote.speaker_mention
                    )
                    marks = "“{}”" if quote.kind == "direct" else "(paraphrase) {}"
                    click.echo(f"{name}:{quote.start}: {said}: " + marks.format(quote.quote))
    except PipelineError as e:
        fail(str(e))
    if failures:
        sys.exit(EXIT_INCOMPLETE)


@cli.command()
@db_option
@click.option("--model", default=None, help=MODEL_HELP)
@click.option(
    "--rebuild-index",
    is_flag=True,
    help="Rebuild the search indexes: vectors (vec_passages, HNSW) and keywords (tantivy).",
)
def embed(db_path: str, model: str | None, rebuild_index: bool) -> None:
    """Embed every passage that has no vector for the model yet."""
    kb = KnowledgeBase(db_path, model=model)
    if not rebuild_index:
        with user_errors():
            click.echo(kb.embed(), err=True)
        return
    from .vectors import rebuild_indexes

    if not Path(db_path).is_file():
        fail(f"{db_path}: database not found")
    try:
        with storage.writer_lock(db_path):
            click.echo(rebuild_indexes(db_path), err=True)
            click.echo(sync_index(db_path, rebuild=True), err=True)
    except storage.LockedError as e:
        fail(str(e), EXIT_LOCKED)
    except (storage.StorageError, ValueError) as e:
        fail(str(e))


@cli.group()
def curator() -> None:
    """Who may sign in to the site and correct statements (kept in the knowledge base)."""


@curator.command("add")
@click.argument("name")
@db_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking for it.")
def curator_add(name: str, db_path: str, password_stdin: bool) -> None:
    """Add curator NAME (or give them a new password)."""
    refuse_foreign_db(db_path)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        KnowledgeBase(db_path).add_curator(name, password)
    click.echo(f"curator {name} can sign in at /login", err=True)


@curator.command("remove")
@click.argument("name")
@db_option
def curator_remove(name: str, db_path: str) -> None:
    """Remove curator NAME: their sessions end at once; their corrections stay."""
    refuse_foreign_db(db_path)
    with user_errors():
        KnowledgeBase(db_path).remove_curator(name)
    click.echo(f"curator {name} removed", err=True)


@curator.command("list")
@db_option
def curator_list(db_path: str) -> None:
    """The curators' names, one a line."""
    refuse_foreign_db(db_path)
    with user_errors():
        for name in KnowledgeBase(db_path).curators():
            click.echo(name)


@cli.group()
def corrections() -> None:
    """Curators' corrections, to keep in version control and apply to another knowledge base."""


@corrections.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@db_option
def corrections_export(file: str, db_path: str) -> None:
    """Write every correction to FILE (YAML; - for standard output)."""
    refuse_foreign_db(db_path)
    with user_errors():
        text = KnowledgeBase(db_path).export_corrections()
    if file == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {file}: {e.strerror}")
    click.echo(f"{text.count('- curator:')} corrections written to {file}", err=True)


@corrections.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
def corrections_import(file: str, db_path: str) -> None:
    """Add the corrections of FILE (from `kb corrections export`) and apply them."""
    refuse_foreign_db(db_path)
    with user_errors():
        added, skipped = KnowledgeBase(db_path).import_corrections(file)
    click.echo(f"{added} corrections added, {skipped} already here; applied", err=True)


@cli.command("llm-export")
@db_option
@click.option("--collection", default=storage.LLM_COLLECTION, show_default=True, help="llm collection to write.")
def llm_export(db_path: str, collection: str) -> None:
    """Copy the passages' vectors into llm's tables in the same file (`llm similar COLLECTION ID -d DB`)."""
    with user_errors():
        count = KnowledgeBase(db_path).llm_export(collection)
    click.echo(f"{count} passage vectors in llm's collection '{collection}' of {db_path}", err=True)


@cli.command("search")
@click.argument("query")
@db_option
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(["keyword", "semantic", "hybrid"]))
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option(
    "--keyword-weight",
    default=0.02,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Hybrid: weight of the keyword score (BM25 over the query's best).",
)
@click.option(
    "--semantic-weight",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Hybrid: weight of the semantic score (cosine similarity).",
)
@click.option(
    "--min-relevance",
    type=click.FloatRange(0, 1),
    help="Only passages at least this relevant to the question (default: relevance.yml's threshold; 0: everything).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON array.")
@click.option(
    "--metadata",
    "metadata_path",
    type=click.Path(dir_okay=False),
    help="Metadata holding the canned queries (default: the project's metadata.yml).",
)
def search_command(
    query: str,
    db_path: str,
    mode: str,
    limit: int,
    keyword_weight: float,
    semantic_weight: float,
    min_relevance: float | None,
    as_json: bool,
    metadata_path: str | None,
) -> None:
    """Search the passages: keyword (BM25), semantic (embeddings) or hybrid (both, fused)."""
    from .search import highlighted, who_and_stance

    kb = KnowledgeBase(db_path, metadata=metadata_path)
    with user_errors():
        hits = kb.search(
            query,
            mode,
            limit,
            min_relevance=min_relevance,
            keyword_weight=keyword_weight,
            semantic_weight=semantic_weight,
        )
    rows = [hit.as_dict() for hit in hits]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        hint = "" if min_relevance == 0 else " among relevant passages (--min-relevance 0 searches everything)"
        click.echo(f"no results{hint}", err=True)
    annotations = who_and_stance(db_path, [row["passage_id"] for row in rows])
    for rank, row in enumerate(rows, 1):
        source = ", ".join(str(v) for v in (row["site_name"], row["published"]) if v)
        click.echo(
            f"{rank:>2}. {row['score']:.4f}  {click.style(row['title'] or '(untitled)', bold=True)}"
            + (f" ({source})" if source else "")
            + f"\n    {row['url']}"
        )
        about = annotations.get(row["passage_id"], {})
        who = [f"quotes {', '.join(about['speakers'])}"] if about.get("speakers") else []
        stance = [f"stance: {', '.join(about['stances'])}"] if about.get("stances") else []
        if who or stance:
            click.echo("    " + " · ".join(who + stance))
        snippet = " ".join(row["snippet"].split())
        snippet = snippet[:300] + ("…" if len(snippet) > 300 else "")
        # click drops the bold when the output is not a terminal, leaving the plain words
        click.echo(f"    {highlighted(snippet, lambda word: click.style(word, bold=True))}\n")


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--jsonl", is_flag=True, help="One JSON object per input, for scripts.")
def extract(inputs: tuple[str, ...], jsonl: bool) -> None:
    """Extract article fields from files or URLs (HTML or PDF), exactly as a crawl would."""
    from crawler.extract import FIELDS, ExtractionError, extract_page
    from crawler.pdf import extract_pdf, looks_like_pdf

    failures = 0
    for item in inputs:
        try:
            body, url, content_type, language = read_input(item)
            fields = extract_pdf(body, url) if looks_like_pdf(body) else extract_page(body, url, content_type, language)
            record = {"input": item, **fields}
        except (ExtractionError, OSError) as e:
            failures += 1
            record = {"input": item, "error": str(e)}
        if jsonl:
            click.echo(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            click.echo(f"{item}: error: {record['error']}\n")
        else:
            for field in FIELDS + (("media_type", "pages") if "pages" in record else ()):
                value = record[field]
                if field == "text":
                    value = f"{len(value.split())} words: {value[:200]}…" if len(value) > 200 else value
                elif field == "pages":
                    value = len(value)
                click.echo(f"{field:>12}: {value}")
            click.echo()
    if failures:
        sys.exit(EXIT_INCOMPLETE)


def read_input(item: str) -> tuple[bytes, str, str | None, str | None]:
    """(body, url, Content-Type, Content-Language) of a local file or an http(s) URL (HTML or PDF)."""
    if item.startswith(("http://", "https://")):
        request = urllib.request.Request(item, headers={"User-Agent": "math-ml-kb/0.1 (kb extract)"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                content_type = response.headers.get_content_type()
                if content_type not in ("text/html", "application/xhtml+xml", "application/pdf"):
                    raise OSError(f"not HTML or PDF ({content_type})")
                body = response.read(FETCH_MAX_BYTES + 1)
                if len(body) > FETCH_MAX_BYTES:
                    raise OSError(f"larger than {FETCH_MAX_BYTES} bytes")
                return (
                    body,
                    response.url,
                    response.headers.get("Content-Type"),
                    response.headers.get("Content-Language"),
                )
        except urllib.error.URLError as e:
            raise OSError(f"cannot fetch: {e.reason}") from None
    path = Path(item)
    if not path.is_file():
        raise OSError("no such file")
    return path.read_bytes(), path.resolve().as_uri(), None, None


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option(
    "--metadata",
    "metadata_path",
    type=click.Path(dir_okay=False),
    help="Datasette metadata (default: the project's metadata.yml).",
)
@click.option(
    "--public", is_flag=True, help="Publish to visitors: no ad-hoc SQL, no information pages, bounded queries."
)
def serve(db_path: str, host: str, port: int, metadata_path: str | None, public: bool) -> None:
    """Publish the database with Datasette (UI and JSON API)."""
    from .analysis.relevance import RelevanceError, load_relevance
    from .web.serve import ServeError
    from .web.serve import serve as serve_datasette

    refuse_foreign_db(db_path)
    try:
        load_relevance()  # its threshold is what searches show by default
    except RelevanceError as e:
        fail(str(e))

    what = "tables under /kb, public mode" if public else "tables and SQL under /kb"
    click.echo(f"Serving {db_path} at http://{host}:{port}/ ({what}; Ctrl-C to stop)", err=True)
    try:
        serve_datasette(db_path, host, port, metadata_path, public)
    except ServeError as e:
        fail(str(e))


@cli.command()
@click.option(
    "--db",
    "db_path",
    default="demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Demo database; replaced on every run.",
)
@click.option("--port", default=8001, show_default=True, type=int, help="Port for Datasette.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
@click.option("--no-embed", is_flag=True, help="Skip embedding (keyword search only).")
def demo(db_path: str, port: int, no_serve: bool, no_embed: bool) -> None:
    """Serve the sample site, crawl it with the real crawler, and open it in Datasette."""
    from .demo import SampleSite
    from .web.serve import serve as serve_datasette

    db = Path(db_path)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.usearch"), Path(f"{db}.usearch.json")):
        path.unlink(missing_ok=True)
    with SampleSite() as site:
        sources = db.with_name(db.stem + "-sources.yml")
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        click.echo(f"Sample site at {site.base_url}; crawling it into {db} ...", err=True)
        code = subprocess.call(
            [sys.executable, "-m", "kb", "crawl", "--sources", str(sources), "--db", str(db), "--log-level", "WARNING"]
            + (["--no-embed"] if no_embed else [])
        )
        if code != 0:
            fail("the demo crawl did not complete", EXIT_INCOMPLETE)
        if no_serve:
            return
        click.echo(f"Open http://127.0.0.1:{port}/ in a browser.", err=True)
        serve_datasette(db, "127.0.0.1", port)
