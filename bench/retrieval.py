"""Passage-level search on a real ML blog: does each mode find the paragraph that answers a paraphrased question?

The development set of ../shared/eval: a snapshot of a real ML blog
(``colah-blog/``), crawled as a site by the real `kb crawl`, and paraphrased
questions (``colah-questions.json``), each with the post and an exact phrase of
the paragraph that answers it. Every question goes through kb.search.search,
the function `kb search` and the JSON API's canned queries run (the same SQL),
in each mode, over everything (min_relevance 0). Figures, as the eval's
check_retrieval.py computes them: MRR@10 of the passage holding the phrase
(overall and by difficulty), hit@10, and how often the right post is among
the first five posts.

    python bench/retrieval.py                          # all 45 questions, the whole blog
    python bench/retrieval.py --posts 2 --questions 4  # a tiny run (tests/test_bench.py)
    python bench/retrieval.py --cli                    # and through `kb search` itself (slower: one process a question)
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402
from bench.realtext import EVAL, crawl_site  # noqa: E402

MODES = ("keyword", "semantic", "hybrid")


def normalise(text: str | None) -> str:
    """As check_retrieval.py compares texts: no markdown emphasis, spaces collapsed, lower case."""
    return re.sub(r"\s+", " ", re.sub(r"[*_`]", "", text or "")).strip().lower()


def pick(questions: list[dict], posts: int | None, count: int | None) -> tuple[list[str], list[dict]]:
    """The posts to crawl and the questions to ask: all, or the first ``posts`` posts asked about."""
    names = list(dict.fromkeys(q["post"] for q in questions))[:posts] if posts else None
    chosen = [q for q in questions if names is None or q["post"] in names][:count]
    return names, chosen


def answer_rank(rows: list[dict], phrase: str, texts: dict[int, str]) -> int | None:
    return next((i + 1 for i, r in enumerate(rows[:10]) if phrase in texts.get(r["passage_id"], "")), None)


def post_in_top5(rows: list[dict], post: str) -> bool:
    urls = list(dict.fromkeys(r["url"] for r in rows))
    return any(f"/posts/{post}" in url for url in urls[:5])


def measure(db: Path, questions: list[dict]) -> dict:
    """Figures per mode, and each question's rank of its answer in each mode."""
    from kb.search import search

    with sqlite3.connect(db) as conn:
        texts = {pid: normalise(text) for pid, text in conn.execute("select id, text from passages")}
    modes, ranks = {}, {q["id"]: {} for q in questions}
    for mode in MODES:
        started = time.perf_counter()
        reciprocal, post5, by_difficulty = 0.0, 0, {}
        for q in questions:
            rows = search(db, q["question"], mode, limit=10, min_relevance=0)
            rank = answer_rank(rows, normalise(q["answer_phrase"]), texts)
            ranks[q["id"]][mode] = rank
            reciprocal += 1 / rank if rank else 0
            post5 += post_in_top5(rows, q["post"])
            by_difficulty.setdefault(q.get("difficulty", "?"), []).append(1 / rank if rank else 0)
        n = len(questions)
        modes[mode] = {
            "mrr_at_10": round(reciprocal / n, 3),
            "hit_at_10": sum(1 for r in ranks.values() if r[mode]),
            "post_in_top5": post5,
            "by_difficulty": {d: round(sum(v) / len(v), 3) for d, v in sorted(by_difficulty.items())},
            "seconds": round(time.perf_counter() - started, 1),
        }
    return {"questions": len(questions), "modes": modes, "ranks": ranks}


def through_cli(db: Path, questions: list[dict], eval_dir: Path, work: Path) -> str:
    """check_retrieval.py itself, running `kb search` once a question and mode."""
    subset = work / "questions.json"
    subset.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    kb = Path(sys.executable).with_name("kb")
    return subprocess.run(
        [sys.executable, str(eval_dir / "check_retrieval.py"), str(kb), str(db), str(subset)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(EVAL), help="the shared eval folder")
    parser.add_argument("--posts", type=int, help="crawl only the first N posts asked about (and ask only about them)")
    parser.add_argument("--questions", type=int, help="ask only the first N questions")
    parser.add_argument("--cli", action="store_true", help="also score through `kb search` with check_retrieval.py")
    parser.add_argument("--keep", metavar="DIR", help="keep the crawled database in DIR")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    eval_dir = Path(args.eval)
    questions = json.loads((eval_dir / "colah-questions.json").read_text(encoding="utf-8"))["questions"]
    posts, questions = pick(questions, args.posts, args.questions)
    blog = eval_dir / "colah-blog"
    start_paths = ["/"] if posts is None else []
    start_paths += [
        f"/posts/{p.name}/"
        for p in sorted((blog / "posts").iterdir())
        if p.is_dir() and (posts is None or p.name in posts)
    ]
    results = {"date": datetime.date.today().isoformat(), "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = crawl_site(blog, start_paths, work, "colah")
        results.update(measure(db, questions))
        if args.cli:
            results["check_retrieval"] = through_cli(db, questions, eval_dir, work)
    for mode, figures in results["modes"].items():
        print(
            f"{mode}: MRR@10 {figures['mrr_at_10']} (hit@10 {figures['hit_at_10']}/{results['questions']}; "
            f"{figures['by_difficulty']}; right post in top 5 {figures['post_in_top5']}/{results['questions']})"
        )
    if "check_retrieval" in results:
        print(results["check_retrieval"])
    write_results(args.output, "retrieval", results)


if __name__ == "__main__":
    main()
