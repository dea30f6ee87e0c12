"""Score the knowledge layer against the gold set (tests/gold/seeds.yml).

    python tests/gold/evaluate.py [--json]

Reports precision, recall and F1 for quote extraction (on the seeds and the
sample site, and separately on news-style text with invented speakers) (a predicted quotation
matches a gold one when their texts overlap by at least half of the longer, or
when the gold quotation is inside a predicted partial quotation such as
``that the council had “no other choice”``), for quote + speaker (the match must
also name the same speakers, null included: ``speaker`` is the first,
``speakers`` lists them all for a joint statement), the same for reported
speech (``reported``: statements without quotation marks, matched on their
content),
and for republished-copy grouping (over pairs of documents); and the accuracy
of the stance given to labelled seed passages.
"""

from __future__ import annotations

import argparse
import json
import sys
from difflib import SequenceMatcher
from itertools import combinations
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.extract import extract_article  # noqa: E402
from kb.analysis.people import Directory, load_people  # noqa: E402
from kb.analysis.quotes import extract_quotes  # noqa: E402
from kb.analysis.works import group_copies  # noqa: E402

GOLD = Path(__file__).with_name("seeds.yml")
SEEDS = ROOT.parent / "shared" / "seeds"
SAMPLE_SITE = ROOT / "kb" / "sample_site"


def overlaps(a: str, b: str) -> bool:
    a, b = " ".join(a.split()), " ".join(b.split())
    match = SequenceMatcher(None, a, b).find_longest_match(0, len(a), 0, len(b))
    return match.size >= 0.5 * max(len(a), len(b)) or (len(b) >= 8 and b.strip(" .,") in a)


def gold_speakers(g: dict) -> list:
    return list(g["speakers"]) if g.get("speakers") else [g.get("speaker")] if g.get("speaker") else []


def prf(true_positives: int, predicted: int, gold: int) -> dict:
    precision = true_positives / predicted if predicted else 1.0
    recall = true_positives / gold if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "gold": gold,
        "predicted": predicted,
    }


def documents(gold: dict) -> list[tuple[str, str, str | None, dict]]:
    """(name, text, author, gold entry) for every gold document."""
    docs = []
    for name, entry in gold["seeds"].items():
        docs.append((name, (SEEDS / name).read_text(encoding="utf-8"), None, [], entry))
    for name, entry in gold["sample_site"].items():
        fields = extract_article((SAMPLE_SITE / name).read_text(encoding="utf-8"), f"http://127.0.0.1/{name}")
        docs.append((name, fields["text"], fields["author"], fields["links"], entry))
    return docs


def news_documents(gold: dict, section: str = "news") -> list:
    return [(name, entry["text"], None, [], entry) for name, entry in (gold.get(section) or {}).items()]


def score_quotes(docs, directory, kind: str = "direct") -> tuple[dict, dict, list[str]]:
    """Statements of ``kind`` (direct: the ``quotes`` lists; indirect: the ``reported`` lists) against gold."""
    quoted = attributed = predicted_total = gold_total = 0
    errors = []
    key, field = ("quotes", "quote") if kind == "direct" else ("reported", "content")
    for name, text, author, links, entry in docs:
        predicted = [q for q in extract_quotes(text, directory, author, links) if q.kind == kind]
        gold = entry.get(key) or []
        predicted_total += len(predicted)
        gold_total += len(gold)
        unmatched = list(predicted)
        for g in gold:
            match = next((p for p in unmatched if overlaps(p.quote, g[field])), None)
            if match is None:
                errors.append(f"{name}: missed {kind} “{g[field][:60]}”")
                continue
            unmatched.remove(match)
            quoted += 1
            said = [p.name for p in match.people]
            if said == gold_speakers(g):
                attributed += 1
            else:
                errors.append(f"{name}: “{g[field][:40]}” attributed to {said or None}, not {gold_speakers(g) or None}")
            if g.get("cites") and match.cites != g["cites"]:
                errors.append(f"{name}: “{g[field][:40]}” cites {match.cites}, not {g['cites']}")
        errors += [f"{name}: spurious {kind} “{p.quote[:60]}”" for p in unmatched]
    return prf(quoted, predicted_total, gold_total), prf(attributed, predicted_total, gold_total), errors


def score_works(gold: dict) -> dict:
    names = sorted(gold["seeds"])
    texts = [(i, (SEEDS / n).read_text(encoding="utf-8")) for i, n in enumerate(names)]
    predicted = {frozenset(names[i] for i in g) for g in group_copies(texts)}
    truth = {frozenset(g) for g in gold["works"]}
    pairs = lambda groups: {frozenset(p) for g in groups for p in combinations(sorted(g), 2)}  # noqa: E731
    p, t = pairs(predicted), pairs(truth)
    return prf(len(p & t), len(p), len(t))


def score_stances(gold: dict) -> dict:
    from embeddings.model import get_embedder
    from kb.analysis.stance import StanceClassifier, load_stances

    items = gold.get("stances") or []
    classifier = StanceClassifier(load_stances(), get_embedder())
    predicted = classifier.classify_texts([item["text"] for item in items])
    correct = sum(p == item["stance"] for (p, _), item in zip(predicted, items))
    mistakes = [
        f"stance of “{item['text'][:50]}”: {p}, not {item['stance']}"
        for (p, _), item in zip(predicted, items)
        if p != item["stance"]
    ]
    return {"accuracy": round(correct / len(items), 3) if items else 1.0, "gold": len(items), "mistakes": mistakes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not SEEDS.exists():
        sys.exit(f"{SEEDS} not found: the gold set needs shared/seeds beside the project")
    gold = yaml.safe_load(GOLD.read_text(encoding="utf-8"))
    directory = Directory(load_people())
    extraction, attribution, errors = score_quotes(documents(gold), directory)
    news_extraction, news_attribution, news_errors = score_quotes(news_documents(gold), directory)
    held_extraction, held_attribution, held_errors = score_quotes(news_documents(gold, "held_out"), directory)
    every = documents(gold) + news_documents(gold) + news_documents(gold, "held_out")
    reported_extraction, reported_attribution, reported_errors = score_quotes(every, directory, "indirect")
    errors += news_errors + held_errors + reported_errors
    report = {
        "quote_extraction": extraction,
        "quote_and_speaker": attribution,
        "news_quote_extraction": news_extraction,
        "news_quote_and_speaker": news_attribution,
        "held_out_quote_extraction": held_extraction,
        "held_out_quote_and_speaker": held_attribution,
        "reported_extraction": reported_extraction,
        "reported_and_speaker": reported_attribution,
        "copy_grouping": score_works(gold),
    }
    stances = score_stances(gold)
    errors += stances.pop("mistakes")
    if args.json:
        print(json.dumps({**report, "stance": stances, "errors": errors}, indent=2, ensure_ascii=False))
        return
    print(f"{'stance':26} accuracy={stances['accuracy']:.3f} (gold {stances['gold']})")
    for name, figures in report.items():
        print(
            f"{name:26} P={figures['precision']:.3f} R={figures['recall']:.3f} F1={figures['f1']:.3f} "
            f"(gold {figures['gold']}, predicted {figures['predicted']})"
        )
    for error in errors:
        print("  " + error)


if __name__ == "__main__":
    main()
