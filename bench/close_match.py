"""Where "no close match" starts: best similarities of real questions against off-topic ones.

The research UI says "no close match" when a semantic or hybrid search's best
passage is less similar to the question than CLOSE_MATCH (kb/web/ui.py) and
no passage holds the question's words. This measures that threshold on the
real ML blog of ../shared/eval (crawled as bench/retrieval.py crawls it): the
best cosine similarity of each of its paraphrased questions (all of which have
an answer there), and of questions written for this benchmark about other
things (cooking, cycling, taxes), which have none. Reported: the distributions,
and at the threshold how many real questions would be told "no close match"
(should be none) and how many off-topic ones would be (should be all).

    python bench/close_match.py
    python bench/close_match.py --db DIR/colah.db   # a crawl kept by bench/retrieval.py --keep DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402
from bench.realtext import EVAL, crawl_site  # noqa: E402

# Our own questions, about nothing the blog discusses.
OFF_TOPIC = [
    "sourdough starter hydration and feeding schedule",
    "how to change a bicycle tire",
    "best hiking boots for winter",
    "tax deadline for freelancers in Germany",
    "guitar chord progressions for beginners",
    "how long to boil an egg",
    "football world cup winners",
    "knitting a scarf pattern",
    "recipe for lasagna",
    "cheap flights to Lisbon",
    "how to repot an orchid",
    "which paint finish for a bathroom ceiling",
]


def best_similarities(db_path: Path, questions: list[str]) -> list[float]:
    from embeddings.model import get_query_encoder
    from kb import storage

    db = storage.open_db(db_path)
    try:
        rows = db.execute("select vector from passage_vectors").fetchall()
    finally:
        db.close()
    vectors = np.stack([np.frombuffer(row[0], "<f4") for row in rows])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    encoder = get_query_encoder()
    return [round(float((vectors @ encoder.encode_query(q)).max()), 3) for q in questions]


def summary(values: list[float]) -> dict:
    return {
        "min": min(values),
        "p5": round(float(np.percentile(values, 5)), 3),
        "median": round(float(np.median(values)), 3),
        "max": max(values),
    }


def main() -> None:
    from kb.web.ui import CLOSE_MATCH

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(EVAL), help="the shared eval folder")
    parser.add_argument("--db", help="an existing crawl of the blog (else it is crawled into a temporary folder)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    eval_dir = Path(args.eval)
    questions = [q["question"] for q in json.loads((eval_dir / "colah-questions.json").read_text())["questions"]]
    with tempfile.TemporaryDirectory() as tmp:
        blog = eval_dir / "colah-blog"
        start_paths = ["/"] + [f"/posts/{p.name}/" for p in sorted((blog / "posts").iterdir()) if p.is_dir()]
        db = Path(args.db) if args.db else crawl_site(blog, start_paths, Path(tmp), "colah")
        real, off = best_similarities(db, questions), best_similarities(db, OFF_TOPIC)
    result = {
        "threshold": CLOSE_MATCH,
        "real_questions": len(real),
        "real_best_similarity": summary(real),
        "off_topic_questions": len(off),
        "off_topic_best_similarity": summary(off),
        "real_told_no_close_match": sum(v < CLOSE_MATCH for v in real),
        "off_topic_told_no_close_match": sum(v < CLOSE_MATCH for v in off),
    }
    print(json.dumps(result), flush=True)
    write_results(args.output, "close_match", result)


if __name__ == "__main__":
    main()
