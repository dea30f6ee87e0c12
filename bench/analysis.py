"""What a `kb analyze` costs when little changed: incremental analysis against its baselines.

On the real-size news articles of bench/analyze.py (built from the PolNeAR
dev split in ../shared/eval, stored and embedded once into bench/cache/),
every fifth carrying two passages of the labelled real pages about the
question (realtopic-dev.json: so that a fifth of the pages are on the
question and their passages take stances), an analysed knowledge base of
``--articles`` documents is the starting point.
Each figure is one `kb analyze` in a child process, as cron runs it, with its
wall time and peak resident memory:

- full: `kb analyze --all` on the analysed base (everything derived again);
- changed: ``--new`` new and ``--changed`` changed documents stored and
  embedded (not timed), then `kb analyze`; its baseline is `kb analyze` of
  just those documents in an otherwise empty knowledge base (target: at most
  2x that);
- unchanged: `kb analyze` with nothing changed, and what `kb crawl` does
  then (it checks whether anything the analysis reads changed, and skips it);
- topics: `kb analyze` after a topics.yml edit (one term added), against full, and against the
  same edit as analysed before 2026-12-07 (``topics_before``: passages' full-text trigger as
  before m029, so every topics_key written indexed the text again, and every passage tagged and
  its relevance scored again, as before follow_topics and follow_math_terms, and relevance.yml's
  examples encoded again, as before example_vectors kept them);
- stances: `kb analyze` after a stances.yml edit (min_confidence raised), against full, and
  against the same edit with the statements' stored embeddings deleted (``stances_uncached``:
  every statement and stances.yml's examples encoded again, as before statement_vectors and
  example_vectors kept them);
- people: `kb analyze` after a people.yml edit (Yann LeCun's pronoun), against full: it parses
  again only the documents naming him (``naming``: those whose text has "LeCun" or "Le Cun").

    python bench/analysis.py                 # 1,000 articles, 100 new, 10 changed
    python bench/analysis.py --quick         # 100 articles, 10 new, 1 changed
    python bench/analysis.py --articles 6 --new 2 --changed 1 --cache /tmp/x   # the test's size
    python bench/analysis.py --articles 3000 --replicate 14 --runs unchanged,changed   # about 1,000,000 passages
    python bench/analysis.py --articles 3000 --half 5 --replicate 34 --runs unchanged,changed   # 100,000 shorter pages

``--replicate`` multiplies the analysed base by copying its rows (replicate()),
so the size the issue asks about is reached without hours of parsing and
embedding; its documents are then copies of one another, grouped as works.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analyze import CACHE, POLNEAR_DEV, articles, build, on_topic_passages  # noqa: E402
from bench.common import write_results  # noqa: E402

# passages' update trigger as sqlite-utils made it (any column), before m029 limited it to the text.
TRIGGERS_BEFORE_M029 = """
drop trigger passages_au;
create trigger passages_au after update on passages begin
  insert into passages_fts (passages_fts, rowid, text) values ('delete', old.rowid, old.text);
  insert into passages_fts (rowid, text) values (new.rowid, new.text);
end;
"""


def kb_analyze(db: Path, *args: str) -> dict:
    """One `kb analyze` in a child process: wall seconds, peak RSS (MB) and its summary line."""
    return child([sys.executable, "-m", "kb", "analyze", "--db", str(db), *args])


# What `kb crawl` runs after storing a crawl: the analysis, skipped when nothing it reads changed.
CRAWLS_ANALYSIS = (
    "import sys; from kb.analysis.analyze import analyze_and_record; "
    "print(analyze_and_record(sys.argv[1], only_if_changed=True)[0], file=sys.stderr)"
)


def child(command: list[str]) -> dict:
    """``command`` in a child process: wall seconds, peak RSS (MB) and the last line it wrote to stderr.

    The peak is the largest proportional resident memory (PSS: shared pages
    divided among the processes sharing them, so a short-lived fork is not
    counted twice) of the child and its own children (the parser processes)
    together, sampled every 0.1 s while it runs. (The rusage of a child counts
    the memory of this process at the fork, and this one holds the model.)
    """
    with tempfile.TemporaryFile("w+") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, tree_rss_kb(process.pid))
            time.sleep(0.1)
        seconds = time.monotonic() - started
        stderr.seek(0)
        output = stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-2000:]}")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024),
        "summary": output.strip().splitlines()[-1],
    }


def tree_rss_kb(pid: int) -> int:
    """Proportional resident memory (kB) of a process and all its descendants now (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return sum(_rss_kb(member) for member in tree)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except (OSError, ValueError):
        return 0


def documents_naming(db_path: Path, names: tuple[str, ...]) -> int:
    """How many documents (status ok) have one of ``names`` in their text."""
    import sqlite3

    with sqlite3.connect(db_path) as db:
        where = " or ".join("instr(text, ?)" for _ in names)
        return db.execute(f"select count(*) from documents where status = 'ok' and ({where})", names).fetchone()[0]


def copy_database(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    for item in source.parent.glob(source.name + ".*"):
        if item.is_file():
            shutil.copy(item, target.parent / item.name.replace(source.name, target.name))
    return target


def store_and_embed(db: Path, documents: list[dict]) -> None:
    """Store ``documents`` (new or changed versions) as the crawler would, and embed their passages."""
    from embeddings.chunking import split_passages
    from embeddings.model import get_embedder, load_token_counter
    from kb import storage
    from kb.vectors import embed_pending

    tokens = load_token_counter()
    connection = storage.open_db(db)
    try:
        for document in documents:
            storage.save_document(connection, document, split_passages(document["text"], 240, tokens))
    finally:
        connection.close()
    embed_pending(db, get_embedder(), progress=False)


def replicate(db_path: Path, times: int) -> None:
    """Make an analysed knowledge base ``times`` times larger without parsing or embedding again:
    every document stored again at a new URL (``?replica=k``) with its passages, vectors,
    statements, topics and band keys, each copy confirmed as a copy of its original, and every key
    set as an analysis of those documents would set it (a group of copies' stance key covers its
    new members; a passage's relevance key names its new vector). The copies are identical texts,
    so their judgements are their originals'. Not copied: the revisions, the documents' full-text
    index and the vector indexes, which an analysis does not read.
    """
    from embeddings.model import model_name
    from kb import storage
    from kb.analysis.analyze import _group_key, stance_digest
    from kb.analysis.relevance import load_relevance
    from kb.analysis.stance import load_stances

    db = storage.open_db(db_path)
    try:
        tops = {
            table: db.execute(f"select max(id) from {table}").fetchone()[0]
            for table in ("documents", "passages", "passage_vectors", "quotes")
        }
        columns = {
            table: [row[1] for row in db.execute(f"pragma table_info({table})")]
            for table in ("documents", "passages", "passage_vectors", "quotes")
        }
        # column -> SQL of its value in replica :k (ids moved past every existing one)
        moved = {
            "documents": {"id": "id + :k * :documents", "url": "url || '?replica=' || :k", "work_id": "null"},
            "passages": {"id": "id + :k * :passages", "document_id": "document_id + :k * :documents"},
            "passage_vectors": {"id": "id + :k * :passage_vectors", "passage_id": "passage_id + :k * :passages"},
            "quotes": {
                "id": "id + :k * :quotes",
                "document_id": "document_id + :k * :documents",
                "passage_id": "passage_id + :k * :passages",
            },
        }
        moved["passages"]["relevance_key"] = (
            "case when relevance_key is null then null else substr(relevance_key, 1, instr(relevance_key, ':')) || "
            "(select v.id + :k * :passage_vectors from passage_vectors v where v.passage_id = passages.id) end"
        )
        with db.atomic():
            for k in range(1, times):
                params = {"k": k, **tops}
                for table in ("documents", "passages", "passage_vectors", "quotes"):
                    names = columns[table]
                    values = ", ".join(moved[table].get(name, f"[{name}]") for name in names)
                    db.execute(
                        f"insert into {table} ({', '.join(f'[{n}]' for n in names)}) "
                        f"select {values} from {table} where id <= :{table}",
                        params,
                    )
                db.execute(
                    "insert into quote_speakers (quote_id, person_id) "
                    "select quote_id + :k * :quotes, person_id from quote_speakers where quote_id <= :quotes",
                    params,
                )
                db.execute(
                    "insert into passage_topics (passage_id, topic_id, mentions) "
                    "select passage_id + :k * :passages, topic_id, mentions from passage_topics "
                    "where passage_id <= :passages",
                    params,
                )
                db.execute(
                    "insert into minhash_bands (key, document_id) "
                    "select key, document_id + :k * :documents from minhash_bands where document_id <= :documents",
                    params,
                )
                db.execute(
                    "insert or ignore into copy_pairs (a, b) "
                    "select id, id + :k * :documents from documents where id <= :documents and status = 'ok'",
                    params,
                )
        model = model_name(storage.embedding_models(db)[0]["model"])
        digest = stance_digest(load_stances(ROOT / "stances.yml"), model)
        threshold = load_relevance(ROOT / "relevance.yml", ROOT / "topics.yml").threshold
        for table in ("passages", "quotes"):
            keys = []
            for group in storage.stance_groups(db, table, threshold):
                key = _group_key(digest, [(row_id, vector_id) for row_id, vector_id, _ in group])
                keys.extend((key, row_id) for row_id, _, _ in group)
            with db.atomic():
                db.conn.executemany(f"update {table} set stance_key = ? where id = ?", keys)
    finally:
        db.close()


RUNS = ("unchanged", "topics", "stances", "people", "changed", "full")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="100 articles, 10 new, 1 changed")
    parser.add_argument(
        "--replicate", type=int, default=1, help="make the analysed base this many times larger (see replicate())"
    )
    parser.add_argument(
        "--half", type=int, help="at most this many paragraphs from each of an article's two halves (shorter pages)"
    )
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which runs, of {', '.join(RUNS)}")
    parser.add_argument("--split", default=str(POLNEAR_DEV), help="a PolNeAR split (text/*.txt)")
    parser.add_argument("--cache", default=str(CACHE), help="where the built database is kept")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    if args.quick:
        args.articles, args.new, args.changed = 100, 10, 1
    runs = set(args.runs.split(","))
    if runs - set(RUNS) or args.replicate < 1 or (args.half is not None and args.half < 1):
        parser.error(f"--runs takes some of {', '.join(RUNS)}; --replicate and --half a whole number from 1")
    split, cache = Path(args.split), Path(args.cache)
    on_topic = on_topic_passages()
    base = build(split, args.articles, cache, on_topic, args.half)
    every = articles(split, args.articles + args.new, on_topic, half=args.half)
    new = every[args.articles :]
    changed = [
        {**article, "text": article["text"] + "\n\nA correction was appended to this sample copy of the article."}
        for article in every[: args.changed]
    ]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        analysed = copy_database(base, tmp / "analysed.db")
        results["first"] = kb_analyze(analysed)
        print("first analysis", results["first"], flush=True)
        if args.replicate > 1:
            started = time.monotonic()
            replicate(analysed, args.replicate)
            results["replicated_in_s"] = round(time.monotonic() - started, 1)
            results["catch_up"] = kb_analyze(analysed)  # the works of the copies; nothing else to do
            print(f"replicated {args.replicate} times", results["catch_up"], flush=True)

        if "unchanged" in runs:
            unchanged = copy_database(analysed, tmp / "unchanged.db")
            results["unchanged"] = kb_analyze(unchanged)
            print("unchanged", results["unchanged"], flush=True)
            results["unchanged_crawl"] = child([sys.executable, "-c", CRAWLS_ANALYSIS, str(unchanged)])
            print("unchanged, as kb crawl analyses", results["unchanged_crawl"], flush=True)

        if "topics" in runs:
            edited = tmp / "topics.yml"
            edited.write_text((ROOT / "topics.yml").read_text() + "  - name: bench-topic\n    terms: [election]\n")
            results["topics"] = kb_analyze(copy_database(analysed, tmp / "topics.db"), "--topics", str(edited))
            print("topics.yml edited", results["topics"], flush=True)
            # Its baseline: the same edit as analysed before 2026-12-07 (m029, m030): every passage's text
            # indexed again with each update, every passage tagged and its relevance scored again.
            before = copy_database(analysed, tmp / "topics-before.db")
            with sqlite3.connect(before) as conn:
                conn.executescript(
                    TRIGGERS_BEFORE_M029
                    + "update passages set relevance_key = null, topics_key = null; delete from example_vectors;"
                )
            results["topics_before"] = kb_analyze(before, "--topics", str(edited))
            print("topics.yml edited, as analysed before", results["topics_before"], flush=True)

        if "stances" in runs:
            edited = tmp / "stances.yml"
            text = (ROOT / "stances.yml").read_text()
            edited.write_text(text.replace("min_confidence: 0.4", "min_confidence: 0.5", 1))
            results["stances"] = kb_analyze(copy_database(analysed, tmp / "stances.db"), "--stances", str(edited))
            print("stances.yml edited", results["stances"], flush=True)
            # Its baseline: the same without the statements' and examples' stored embeddings (as before they were kept).
            uncached = copy_database(analysed, tmp / "stances-uncached.db")
            with sqlite3.connect(uncached) as conn:
                conn.executescript("delete from statement_vectors; delete from example_vectors;")
            results["stances_uncached"] = kb_analyze(uncached, "--stances", str(edited))
            print("stances.yml edited, statements encoded again", results["stances_uncached"], flush=True)

        if "people" in runs:
            edited = tmp / "people.yml"
            text = (ROOT / "people.yml").read_text()
            edited.write_text(text.replace("name: Yann LeCun\n    pronoun: he", "name: Yann LeCun\n    pronoun: they"))
            db = copy_database(analysed, tmp / "people.db")
            results["people"] = kb_analyze(db, "--people", str(edited))
            results["people"]["naming"] = documents_naming(db, ("LeCun", "Le Cun"))
            print("people.yml edited", results["people"], flush=True)

        with sqlite3.connect(analysed) as con:
            documents, passages = con.execute(
                "select (select count(*) from documents), (select count(*) from passages)"
            ).fetchone()
        print("analysed base:", documents, "documents,", passages, "passages", flush=True)
        if "changed" in runs:
            grown = copy_database(analysed, tmp / "grown.db")
            store_and_embed(grown, new + changed)
            results["changed"] = kb_analyze(grown)
            print(f"{args.new} new and {args.changed} changed", results["changed"], flush=True)

            alone = tmp / "alone.db"
            store_and_embed(alone, new + changed)
            results["changed_alone"] = kb_analyze(alone)
            print(f"the same {args.new + args.changed} documents alone", results["changed_alone"], flush=True)

        if "full" in runs:
            results["full"] = kb_analyze(copy_database(analysed, tmp / "full.db"), "--all")
            print("full (--all)", results["full"], flush=True)
    figures = {
        "articles": args.articles * args.replicate,
        "half": args.half,
        "documents": documents,
        "passages": passages,
        "new": args.new,
        "changed": args.changed,
        "results": results,
    }
    if "changed" in runs:
        figures["changed_ratio_to_alone"] = round(
            results["changed"]["seconds"] / results["changed_alone"]["seconds"], 2
        )
    if "topics" in runs:
        figures["topics_ratio_to_before"] = round(results["topics"]["seconds"] / results["topics_before"]["seconds"], 2)
    if "stances" in runs:
        figures["stances_ratio_to_uncached"] = round(
            results["stances"]["seconds"] / results["stances_uncached"]["seconds"], 2
        )
    if "full" in runs:
        for run in {"topics", "stances", "people"} & runs:
            figures[f"{run}_ratio_to_full"] = round(results[run]["seconds"] / results["full"]["seconds"], 2)
        figures["full_documents_per_s"] = round(figures["articles"] / results["full"]["seconds"], 2)
    print({k: v for k, v in figures.items() if k != "results"})
    write_results(args.output, "analysis", figures)


if __name__ == "__main__":
    main()
