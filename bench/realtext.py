"""The knowledge layer on real text written by others (../shared/eval), scored by its own scorers.

Three measurements, each on text nobody on the project wrote:

- ``polnear``: `kb quotes --jsonl` over the PolNeAR dev split (84 US news
  articles), scored by score_polnear.py: content F1 and content+speaker F1
  of direct (quoted) and indirect (reported) attributions;
- ``realtopic``: the labelled real pages about the knowledge base's question
  (realtopic-dev.json), rendered as a site by make_realtopic_site.py,
  crawled by the real `kb crawl` (embedding and analysis included) and
  scored by check_realtopic.py: relevance, stance, copies, quotation speakers,
  unverified people;
- ``colah``: the snapshot of a real technical ML blog (colah-blog/), crawled
  the same way: how many quotations and unverified people a technical
  blog yields (a reference list, code and equations should yield none), and
  the unverified people it created.

Figures go to bench/results.json (key ``realtext``) and, with ``--write``,
into BENCHMARKS.md's "Real text" section.

    python bench/realtext.py                       # all three
    python bench/realtext.py --only polnear        # some
    python bench/realtext.py --write               # and record them in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, remove_database, write_results  # noqa: E402
from kb.demo import SampleSite  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
PARTS = ("polnear", "realtopic", "colah")


def kb(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"kb {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def polnear(eval_dir: Path, work: Path) -> dict:
    split = eval_dir / "polnear-dev"
    jsonl = work / "polnear.jsonl"
    result = kb("quotes", "--jsonl", *sorted((split / "text").glob("*.txt")))
    jsonl.write_text(result.stdout, encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(eval_dir / "score_polnear.py"), str(split), str(jsonl)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"output": scored.strip()}
    for kind in ("direct", "indirect"):
        m = re.search(
            rf"^{kind}: content F1 ([\d.]+) .*content\+speaker F1 ([\d.]+) .*?(\d+) gold, (\d+) predicted", scored, re.M
        )
        figures[kind] = {
            "content_f1": float(m[1]),
            "content_speaker_f1": float(m[2]),
            "gold": int(m[3]),
            "predicted": int(m[4]),
        }
    return figures


def crawl_site(root: Path, start_paths: list[str], work: Path, name: str) -> Path:
    """`kb crawl` a static site served from ``root``; returns the database."""
    db = work / f"{name}.db"
    remove_database(db)  # a kept folder from an earlier run: start afresh
    with SampleSite(root) as site:
        urls = "\n".join(f"      - {site.base_url}{path}" for path in start_paths)
        sources = work / f"{name}-sources.yml"
        sources.write_text(
            f"download_delay: 0\nsources:\n  - name: {name}\n    start_urls:\n{urls}\n"
            f"    max_depth: 1\n    max_pages: 5000\n",
            encoding="utf-8",
        )
        kb("crawl", "--sources", sources, "--db", db, "--quiet")
    return db


def unverified_people(db: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("select name from people where verified = 0 order by name")]


def crawl_realtopic(eval_dir: Path, work: Path, count: int | None = None) -> tuple[Path, Path, Path]:
    """Render the labelled real pages as a site and crawl it (the pages of the first ``count`` passages,
    or all); (database, labelled passages, site folder)."""
    passages = eval_dir / "realtopic-dev.json"
    if count:
        data = json.loads(passages.read_text(encoding="utf-8"))
        data["passages"] = data["passages"][:count]
        passages = work / "realtopic-subset.json"  # a temporary copy, never in the repository
        passages.write_text(json.dumps(data), encoding="utf-8")
    site = work / "realtopic-site"
    # The sitemap needs the address the site is served from: SampleSite fills in its placeholder.
    subprocess.run(
        [
            sys.executable,
            str(eval_dir / "make_realtopic_site.py"),
            str(passages),
            str(site),
            "--origin",
            "__BASE_URL__",
        ],
        check=True,
    )
    paths = sorted(set(json.loads((site / "paths.json").read_text()).values()))
    return crawl_site(site, ["/", *paths], work, "realtopic"), passages, site


def realtopic(eval_dir: Path, work: Path) -> dict:
    import yaml

    db, passages, site = crawl_realtopic(eval_dir, work)
    threshold = yaml.safe_load((ROOT / "relevance.yml").read_text())["threshold"]
    scored = subprocess.run(
        [sys.executable, str(eval_dir / "check_realtopic.py"), str(db), str(passages), str(site), str(threshold)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"quotes found (\d+)/(\d+), speaker right (\d+)/\d+; unverified people (\d+)", scored)
    return {
        "output": scored.strip(),
        "quotes": int(m[2]),
        "quotes_found": int(m[1]),
        "speaker_right": int(m[3]),
        "unverified_people": unverified_people(db),
    }


def colah(eval_dir: Path, work: Path) -> dict:
    import sqlite3

    blog = eval_dir / "colah-blog"
    posts = sorted(f"/posts/{p.name}/" for p in (blog / "posts").iterdir() if p.is_dir())
    db = crawl_site(blog, ["/", *posts], work, "colah")
    with sqlite3.connect(db) as conn:
        documents = conn.execute("select count(*) from documents").fetchone()[0]
        kinds = dict(
            conn.execute("select coalesce(kind, 'direct'), count(*) from quotes group by 1").fetchall()
            if "kind" in {c[1] for c in conn.execute("pragma table_info(quotes)")}
            else conn.execute("select 'direct', count(*) from quotes").fetchall()
        )
    return {"documents": documents, "quotes": kinds, "unverified_people": unverified_people(db)}


def figure_lines(output: str) -> list[str]:
    """check_realtopic.py's figures, without its lines of examples (their text is the eval set's, not ours)."""
    return [line for line in output.splitlines() if not line.startswith("quote misses")]


MEASURE = {"polnear": polnear, "realtopic": realtopic, "colah": colah}


def markdown(results: dict) -> str:
    lines = [LATEST, "", f"Measured {results['date']} on {results['machine']}.", ""]
    if "polnear" in results:
        p = results["polnear"]
        lines += [
            "PolNeAR dev split (84 news articles; `kb quotes --jsonl`, scored by score_polnear.py):",
            "",
            "| attributions | gold | predicted | content F1 | content+speaker F1 |",
            "|---|---:|---:|---:|---:|",
        ]
        for kind in ("direct", "indirect"):
            k = p[kind]
            lines.append(
                f"| {kind} | {k['gold']} | {k['predicted']} | {k['content_f1']:.3f} | {k['content_speaker_f1']:.3f} |"
            )
        lines.append("")
    if "realtopic" in results:
        r = results["realtopic"]
        people = ", ".join(f"`{n}`" for n in r["unverified_people"]) or "none"
        lines += [
            "Real pages on the question (realtopic-dev.json crawled as a site, check_realtopic.py):",
            "",
            "```",
            *figure_lines(r["output"]),
            "```",
            "",
            f"Quotations with the right speaker: {r['speaker_right']}/{r['quotes']}; unverified people: {people}.",
            "",
        ]
    if "colah" in results:
        c = results["colah"]
        people = ", ".join(f"`{n}`" for n in c["unverified_people"]) or "none"
        lines += [
            f"A real technical ML blog (colah-blog, {c['documents']} documents crawled): statements by kind "
            f"{json.dumps(c['quotes'])}; unverified people: {people}.",
            "",
        ]
    return "\n".join(lines)


SECTION = "## Real text (`bench/realtext.py`)"
LATEST = "### Latest run (`python bench/realtext.py --write`)"


def write_benchmarks_md(latest: str) -> None:
    """Replace the "Latest run" part of BENCHMARKS.md's real-text section (what is written above it stays)."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile("^" + re.escape(LATEST) + r"\n.*?(?=^##|\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: latest + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + SECTION + "\n\n" + latest + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    import datetime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}")
    parser.add_argument("--eval", default=str(EVAL), help="the shared eval folder")
    parser.add_argument("--write", action="store_true", help="record the figures in BENCHMARKS.md")
    parser.add_argument("--keep", metavar="DIR", help="keep the crawled sites' databases and outputs in DIR")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    results = {"date": datetime.date.today().isoformat(), "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for part in parts:
            results[part] = MEASURE[part](Path(args.eval), work)
            print(f"== {part}\n{json.dumps(results[part], indent=1, ensure_ascii=False)}", flush=True)
    write_results(args.output, "realtext", results)
    if args.write:
        write_benchmarks_md(markdown(results))


if __name__ == "__main__":
    main()
