"""Stance and relevance on real pages about the question: the chosen method against the alternatives.

The labelled real pages of ../shared/eval/realtopic-dev.json are rendered as
a site, crawled once by the real `kb crawl` (embedding and analysis
included), and scored by the eval's own check_realtopic.py. Then each
alternative way of judging stances rewrites the passages' stances in a copy
of that database, and check_realtopic.py scores the copy:

- ``nearest examples``: the stance whose stances.yml examples are closest
  (the method before issue 17);
- ``logistic regression``: scikit-learn's LogisticRegression over the
  embedding, trained on stances.yml's examples;
- ``cues, no scope``: stances.yml's cues (most matches win), then the nearest
  examples, without the scope of negation, limits, hearsay and questions;
- ``cues with scope``: the same, each cue read in its clause;
- ``cues with scope, then the passages beside`` (what `kb analyze` does): a
  passage without cues of its own takes those of the passages before and
  after it, before the examples decide.

Accuracy counts abstentions (no stance) as misses; ``abstained`` is their
share. Relevance precision and recall are those of the crawl (one method).

    python bench/viewpoints.py                 # figures into bench/results.json
    python bench/viewpoints.py --keep DIR      # keep the site and databases
    python bench/viewpoints.py --passages 30   # a tiny run (tests/test_bench.py)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402
from bench.realtext import EVAL, crawl_realtopic  # noqa: E402


def score(db: Path, passages: Path, site: Path, eval_dir: Path, threshold: float) -> dict:
    """check_realtopic.py's figures for one database."""
    out = subprocess.run(
        [sys.executable, str(eval_dir / "check_realtopic.py"), str(db), str(passages), str(site), str(threshold)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"P ([\d.]+) R ([\d.]+);.*stance accuracy (\d+)/(\d+)", out)
    confusion = re.search(r"^stance confusion \(gold -> got\): (.*)$", out, re.MULTILINE)[1]
    abstained = sum(int(n) for n in re.findall(r"', None\): (\d+)", confusion))
    return {
        "relevance_precision": float(m[1]),
        "relevance_recall": float(m[2]),
        "stance_right": int(m[3]),
        "stance_total": int(m[4]),
        "stance_accuracy": round(int(m[3]) / int(m[4]), 3),
        "abstained": round(abstained / int(m[4]), 3),
    }


def relevant_passages(conn: sqlite3.Connection, threshold: float) -> list[tuple[int, str, np.ndarray]]:
    """(id, text, vector) of the passages `kb analyze` judged relevant: those it gives a stance or none to."""
    rows = conn.execute(
        "select p.id, p.text, e.vector from passages p join passage_vectors e on e.passage_id = p.id "
        "join passage_details d on d.passage_id = p.id where d.relevance >= ?",
        (threshold,),
    )
    return [(r[0], r[1], np.frombuffer(r[2], dtype="<f4")) for r in rows]


def judge_with(stance_set, embedder, passages) -> dict[int, str | None]:
    from kb.analysis.stance import StanceClassifier

    classifier = StanceClassifier(stance_set, embedder)
    judged = classifier.judge([t for _, t, _ in passages], np.stack([v for _, _, v in passages]))
    return {pid: j.stance for (pid, _, _), j in zip(passages, judged)}


def logistic_regression(stance_set, embedder, passages) -> dict[int, str | None]:
    from sklearn.linear_model import LogisticRegression

    texts = [e for s in stance_set.stances for e in s.examples]
    labels = [s.name for s in stance_set.stances for _ in s.examples]
    model = LogisticRegression(C=8.0, max_iter=5000).fit(embedder.encode(texts), labels)
    predicted = model.predict(np.stack([v for _, _, v in passages]))
    return {pid: str(p) for (pid, _, _), p in zip(passages, predicted)}


def alternatives(stance_set) -> dict:
    """Each alternative: a function of (embedder, passages) giving every passage's stance."""
    from kb.analysis.stance import Scope

    no_cues = dataclasses.replace(
        stance_set, stances=tuple(dataclasses.replace(s, cues=()) for s in stance_set.stances), min_confidence=0.0
    )
    no_scope = dataclasses.replace(
        stance_set,
        scope=Scope(),
        stances=tuple(dataclasses.replace(s, negated=None, limited=None) for s in stance_set.stances),
    )
    return {
        "nearest examples": lambda emb, ps: judge_with(no_cues, emb, ps),
        "logistic regression": lambda emb, ps: logistic_regression(stance_set, emb, ps),
        "cues, no scope": lambda emb, ps: judge_with(no_scope, emb, ps),
        "cues with scope": lambda emb, ps: judge_with(stance_set, emb, ps),
    }


def main() -> None:
    import yaml

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(EVAL), help="the shared eval folder")
    parser.add_argument("--passages", type=int, help="only the pages of the first N labelled passages (a tiny run)")
    parser.add_argument("--keep", metavar="DIR", help="keep the site and databases in DIR")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    from embeddings.model import get_embedder
    from kb.analysis.stance import load_stances

    eval_dir = Path(args.eval)
    threshold = yaml.safe_load((ROOT / "relevance.yml").read_text())["threshold"]
    results = {"date": datetime.date.today().isoformat(), "machine": machine(), "threshold": threshold, "methods": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        db, passages, site = crawl_realtopic(eval_dir, work, args.passages)
        with sqlite3.connect(db) as conn:
            relevant = relevant_passages(conn, threshold)
            model = conn.execute("select model from passage_vectors limit 1").fetchone()[0]
        embedder = get_embedder(model)
        for name, judge in alternatives(load_stances()).items():
            copy = work / f"realtopic-{re.sub(r'[^a-z]+', '-', name)}.db"
            shutil.copyfile(db, copy)
            stances = judge(embedder, relevant) if relevant else {}
            with sqlite3.connect(copy) as conn:
                conn.execute("update passages set stance = null")
                conn.executemany(
                    "update passages set stance = ? where id = ?", [(s, pid) for pid, s in stances.items()]
                )
            results["methods"][name] = score(copy, passages, site, eval_dir, threshold)
            print(f"{name}: {json.dumps(results['methods'][name])}", flush=True)
        chosen = "cues with scope, then the passages beside (kb analyze)"
        results["methods"][chosen] = score(db, passages, site, eval_dir, threshold)
        print(f"{chosen}: {json.dumps(results['methods'][chosen])}")
    write_results(args.output, "viewpoints", results)


if __name__ == "__main__":
    main()
