"""Score the relevance decision against the labelled passages (tests/gold/relevance.yml).

    python tests/gold/relevance.py [--json] [--show-errors]

Reports precision, recall and F1 of "relevant" (score >= relevance.yml's
threshold) over the labelled passages, the seed passages about math in ML
that were judged not relevant (the target is none), and the language flags
of the passages in other languages. Not a timed test: tests/test_relevance.py
runs `evaluate` and checks the targets.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.extract import extract_article  # noqa: E402
from embeddings.chunking import split_passages  # noqa: E402
from embeddings.model import load_token_counter  # noqa: E402
from kb.analysis.relevance import RelevanceScorer, document_score, language_flag, load_relevance  # noqa: E402

LABELS = Path(__file__).with_name("relevance.yml")
SEEDS = ROOT.parent / "shared" / "seeds"
SAMPLE_SITE = ROOT / "kb" / "sample_site"


@dataclass
class Labelled:
    origin: str  # "seed 004_...", "sample articles/...", "written"
    text: str
    relevant: bool
    document: tuple[str, ...] = ()  # every passage of its document (empty: the text stands alone)


def passages(text: str, count_tokens) -> list[str]:
    return [text[start:end] for start, end in split_passages(text, 256, count_tokens)]


def find(passage_texts: list[str], start: str, where: str) -> str:
    normal = " ".join(start.split())
    for text in passage_texts:
        if " ".join(text.split()).startswith(normal):
            return text
    raise ValueError(f"{LABELS}: no passage of {where} starts with {start!r}")


def labelled_passages(labels: dict | None = None) -> list[Labelled]:
    labels = labels or yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    count_tokens = load_token_counter(None)
    found = []
    sources = [
        (f"seed {name}", (SEEDS / name).read_text(encoding="utf-8"), entry) for name, entry in labels["seeds"].items()
    ]
    for name, entry in labels["sample_site"].items():
        html = (SAMPLE_SITE / name).read_text(encoding="utf-8")
        sources.append((f"sample {name}", extract_article(html, f"http://127.0.0.1/{name}")["text"], entry))
    for origin, text, entry in sources:
        texts = passages(text, count_tokens)
        for key, relevant in (("relevant", True), ("not_relevant", False)):
            for start in entry.get(key) or []:
                found.append(Labelled(origin, find(texts, start, origin), relevant, tuple(texts)))
    for key, relevant in (("relevant", True), ("not_relevant", False)):
        found.extend(Labelled("written", text, relevant) for text in labels["written"][key])
    return found


def prf(predicted: list[bool], gold: list[bool]) -> dict:
    true_positives = sum(p and g for p, g in zip(predicted, gold))
    precision = true_positives / sum(predicted) if any(predicted) else 1.0
    recall = true_positives / sum(gold) if any(gold) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "passages": len(gold),
        "relevant": sum(gold),
        "predicted_relevant": sum(predicted),
    }


def evaluate(scorer: RelevanceScorer) -> dict:
    """Precision, recall and F1 of each passage's own score; ``in_the_ui`` the same for the relevance the UI
    filters on (passage_details.relevance: the higher of the passage's score and its document's, so a short
    passage of a relevant article stays in view); seed passages about the question missed by the latter."""
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    items = labelled_passages(labels)
    own = scorer.score_passages([item.text for item in items])
    documents = {
        document: document_score(scorer.score_passages(list(document)))
        for document in {item.document for item in items if item.document}
    }
    in_the_ui = [max(s, documents[item.document]) if item.document else s for item, s in zip(items, own)]
    gold = [item.relevant for item in items]
    predicted = [scorer.is_relevant(s) for s in own]
    result = prf(predicted, gold)
    result["in_the_ui"] = prf([scorer.is_relevant(s) for s in in_the_ui], gold)
    result["threshold"] = scorer.config.threshold
    result["seed_passages_missed"] = [
        {"origin": item.origin, "score": s, "text": item.text[:80]}
        for item, s in zip(items, in_the_ui)
        if item.relevant and item.origin.startswith("seed") and not scorer.is_relevant(s)
    ]
    result["errors"] = [
        {"origin": item.origin, "label": item.relevant, "score": s, "text": item.text[:100]}
        for item, s, p in zip(items, own, predicted)
        if p != item.relevant
    ]
    others = labels["other_languages"]
    result["other_languages"] = [
        {"language": entry["language"], "flag": language_flag(entry["text"]), "score": s}
        for entry, s in zip(others, scorer.score_passages([e["text"] for e in others]))
    ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--show-errors", action="store_true", help="list the passages decided wrongly")
    args = parser.parse_args()
    from embeddings.model import get_embedder

    result = evaluate(RelevanceScorer(load_relevance(), get_embedder()))
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(
        f"relevance at threshold {result['threshold']}: precision {result['precision']}, "
        f"recall {result['recall']}, F1 {result['f1']} ({result['passages']} passages, "
        f"{result['relevant']} relevant, {result['predicted_relevant']} judged relevant)"
    )
    ui = result["in_the_ui"]
    print(
        f"in the UI (the higher of passage and document): precision {ui['precision']}, recall {ui['recall']}, "
        f"F1 {ui['f1']}"
    )
    print(f"seed passages about math in ML not relevant in the UI: {len(result['seed_passages_missed'])}")
    for other in result["other_languages"]:
        print(f"{other['language']} passage: flag {other['flag']!r}, score {other['score']}")
    if args.show_errors:
        for error in result["errors"]:
            print(
                f"  {'relevant' if error['label'] else 'not relevant'} scored {error['score']}: "
                f"[{error['origin']}] {error['text']}"
            )


if __name__ == "__main__":
    main()
