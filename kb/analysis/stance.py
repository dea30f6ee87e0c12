"""stances.yml: viewpoints on the question, and the stance a text argues, with its reasons.

A text's stance comes from, in turn:

1. its cues: phrases of stances.yml that argue a stance ("you don't need …
   math"), each read in its clause (``cue_matches``: a question or hearsay
   does not count; a disputed belief, a negation before it or a limit turns it
   to another stance); the stance with the most matches wins, a tie goes to
   step 2;
2. the cues of the passages beside it, when it has none of its own: an
   argument runs over paragraphs, and the one that says "you do not need
   linear algebra to start" is followed by one that only explains why;
3. its embedding: the stance whose example passages are closest (mean of the
   three best cosine similarities), when that similarity reaches
   ``min_similarity``.

The confidence is the winner's share of the cue matches (plus a half, so a
single uncontested cue gives 0.67), or the softmax weight of the winning
stance's similarity; below ``min_confidence`` the text gets no stance rather
than a guess. Texts of fewer than ``min_words`` words (headings, fragments)
and texts that only ask a question get none. Every judgement keeps its reasons: the cue phrases matched and the
closest examples. Runs offline on the CPU with the passage vectors' model.

Measured on real pages (bench/viewpoints.py, BENCHMARKS.md): the embedding
alone follows the topic (any passage full of math reads as "essential
foundation"); cues catch what a passage argues when it says so in a phrase.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..defaults import default_file
from ..yamlfile import Mapping, YamlFileError, read_list_file, unknown_key_message

DEFAULT_STANCES_FILE = default_file("stances.yml")
TOP_KEYS = ("question", "min_similarity", "min_confidence", "min_words", "scope", "stances")
STANCE_KEYS = ("name", "description", "examples", "cues", "negated", "limited")
SCOPE_KEYS = ("negation", "limit", "hearsay", "disputed")
# Where a clause ends: a cue's scope (its negation, its limits) stays inside one.
CLAUSE_END = re.compile(
    r"[.!?;:\n]|,\s*(?=(?:but|however|although|though|while|whereas|yet)\b)|\s(?=but\b)", re.IGNORECASE
)
# A clause that asks ("Can you learn machine learning without math", a heading without its question mark).
QUESTION = re.compile(
    r"\s*(?:(?:can|could|do|does|did|is|are|should|will|would|must)\s+(?:i|you|we|one|someone|anyone|"
    r"people|it|they)\b|(?:how|why|what|which)\b)",
    re.IGNORECASE,
)
# A sentence that only continues the report before it ("Many believe X. That you need Y.").
CONTINUED_REPORT = re.compile(r"\s*[\"“]?that (?:you|we|one|people|they|everyone|anyone)\b", re.IGNORECASE)
# Two cues of one sentence weighed against each other ("you don't need calculus, but you do need vectors").
WEIGHED = re.compile(r"\bbut\b", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?;\n]")
# A text that only asks (a heading "How much math do you need?") argues nothing.
ONLY_A_QUESTION = re.compile(r"\s*[^.!?]+\?[\s\"”]*")
TEMPERATURE = 0.02
TOP_EXAMPLES = 3
# What the placeholders of a cue stand for.
PLACEHOLDERS = {
    "{math}": r"(?:math(?:s|ematics|ematical)?|statistics|statistical|probability|calculus|linear algebra|algebra|"
    r"derivatives?|equations?|theory|theoretical|theorems?|proofs?|formulas?|stats|matri(?:x|ces)|vectors?|gradients?)",
    "{need}": r"(?:need(?:s|ed)?|requires?|required|requirement|must|essential|necessary|necessity|crucial|critical|"
    r"prerequisites?|foundation(?:al)?|fundamental|bedrock|backbone|vital|indispensable|important|"
    r"mandatory|have to|has to|should|master)",
    "{not}": r"(?:don[’']?t|do not|doesn[’']?t|does not|didn[’']?t|never|not|no|isn[’']?t|aren[’']?t|won[’']?t|"
    r"neither|nor|rarely|hardly|barely)",
    "{gap}": r"[^.!?;\n]{0,50}?",  # with the spaces around it
}


class StancesError(YamlFileError):
    """stances.yml cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Stance:
    name: str
    description: str
    examples: tuple[str, ...]
    cues: tuple[re.Pattern, ...] = ()
    negated: str | None = None  # the stance a cue of this one argues when its clause negates it
    limited: str | None = None  # ... and when its clause limits it ("only basic statistics")


@dataclass(frozen=True)
class Scope:
    """Words that change what a cue argues within its clause (stances.yml's ``scope``)."""

    negation: re.Pattern | None = None
    limit: re.Pattern | None = None
    hearsay: re.Pattern | None = None
    disputed: re.Pattern | None = None


@dataclass(frozen=True)
class StanceSet:
    question: str
    min_similarity: float
    stances: tuple[Stance, ...]
    min_confidence: float = 0.4
    min_words: int = 8
    scope: Scope = Scope()


@dataclass
class Judgement:
    """The stance a text argues (or None), how sure, and why."""

    stance: str | None
    confidence: float | None
    reasons: dict = field(default_factory=dict)


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around text[start:end]: from the last clause end before it to the first after it
    (with that mark, so a question keeps its question mark)."""
    before = [m.end() for m in CLAUSE_END.finditer(text, 0, start)]
    after = CLAUSE_END.search(text, end)
    return (before[-1] if before else 0), (after.end() if after else len(text))


def compile_cue(cue: str) -> re.Pattern:
    """A cue of stances.yml as a regular expression, its placeholders expanded ({gap} takes the spaces around it)."""
    pattern = re.sub(r"\s*\{gap\}\s*", lambda _: PLACEHOLDERS["{gap}"], cue.strip())
    for name, expansion in PLACEHOLDERS.items():
        pattern = pattern.replace(name, expansion)
    return re.compile(pattern, re.IGNORECASE)


def load_stances(path: str | Path = DEFAULT_STANCES_FILE) -> StanceSet:
    data, entries = read_list_file(path, "stances", "stance", STANCE_KEYS, StancesError, TOP_KEYS, min_items=2)
    numbers = {}
    for key, default, low, high in (
        ("min_similarity", 0.35, -1, 1),
        ("min_confidence", 0.4, 0, 1),
        ("min_words", 8, 0, 1000),
    ):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise StancesError(
                f"{path}:{data.key_lines.get(key, 1)}: '{key}' must be a number between {low} and {high}"
            )
        numbers[key] = value
    stances = []
    for entry, line in entries:
        examples = entry.get("examples")
        valid = isinstance(examples, list) and examples and all(isinstance(e, str) and e.strip() for e in examples)
        if not isinstance(entry.get("name"), str) or not valid:
            raise StancesError(f"{path}:{line}: a stance needs a 'name' and a list of example sentences")
        _check_english(examples, path)
        stances.append(
            Stance(
                entry["name"].strip(),
                str(entry.get("description") or ""),
                tuple(examples),
                _cues(entry, line, path),
                _stance_name(entry, "negated", line, path),
                _stance_name(entry, "limited", line, path),
            )
        )
    names = [s.name for s in stances]
    if len(set(names)) < len(names):
        raise StancesError(f"{path}:{entries[0][1]}: two stances are named alike: {', '.join(names)}")
    for (entry, line), stance in zip(entries, stances):
        for key in ("negated", "limited"):
            if getattr(stance, key) is not None and getattr(stance, key) not in names:
                raise StancesError(
                    f"{path}:{entry.key_lines.get(key, line)}: '{key}' names no stance of this "
                    f"file: {getattr(stance, key)!r} (the stances: {', '.join(names)})"
                )
    return StanceSet(
        str(data.get("question") or ""),
        float(numbers["min_similarity"]),
        tuple(stances),
        float(numbers["min_confidence"]),
        int(numbers["min_words"]),
        _scope(data, path),
    )


def _stance_name(entry, key: str, line: int, path) -> str | None:
    value = entry.get(key)
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise StancesError(f"{path}:{entry.key_lines.get(key, line)}: '{key}' must be the name of a stance")
    return value.strip() if value else None


def _scope(data, path) -> Scope:
    """stances.yml's ``scope``: for each of negation, limit, hearsay and disputed, a list of phrases
    (regular expressions), compiled into one pattern of whole words."""
    scope = data.get("scope")
    if scope is None:
        return Scope()
    line = data.key_lines.get("scope", 1)
    if not isinstance(scope, Mapping):
        raise StancesError(f"{path}:{line}: 'scope' must be a mapping of {', '.join(SCOPE_KEYS)}")
    patterns = {}
    for key, key_line in scope.key_lines.items():
        if key not in SCOPE_KEYS:
            raise StancesError(f"{path}:{key_line}: {unknown_key_message(key, SCOPE_KEYS, 'scope')}")
        phrases = scope[key]
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise StancesError(f"{path}:{key_line}: 'scope: {key}' must be a list of phrases (regular expressions)")
        try:
            patterns[key] = re.compile(
                r"\b(?:" + "|".join(f"(?:{p.strip()})" for p in phrases) + r")(?!\w)", re.IGNORECASE
            )
        except re.error as e:
            raise StancesError(
                f"{path}:{key_line}: 'scope: {key}' has a phrase that is not a valid regular expression ({e})"
            ) from None
    return Scope(**patterns)


def _cues(entry, line: int, path) -> tuple[re.Pattern, ...]:
    cues = entry.get("cues") or []
    cue_line = entry.key_lines.get("cues", line)
    if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
        raise StancesError(f"{path}:{cue_line}: 'cues' must be a list of phrases (regular expressions)")
    compiled = []
    for cue, at in zip(cues, getattr(cues, "lines", [cue_line] * len(cues))):
        try:
            compiled.append(compile_cue(cue))
        except re.error as e:
            raise StancesError(f"{path}:{at}: cue is not a valid regular expression ({e})") from None
    return tuple(compiled)


def _check_english(examples: list[str], path) -> None:
    """Examples must be English, the language the model compares them in; say which line is not."""
    import py3langid

    for example, at in zip(examples, getattr(examples, "lines", [1] * len(examples))):
        if len(example.split()) >= 5:
            language, _ = py3langid.classify(example)
            if language != "en":
                raise StancesError(
                    f"{path}:{at}: this example looks like {language}, not English; "
                    "examples are compared with English text"
                )


def _shown(matched: dict[str, list[str]]) -> dict[str, list[str]]:
    """The cue phrases kept in a judgement's reasons: up to three for each stance that has any."""
    return {name: found[:3] for name, found in matched.items() if found}


def _winner(counts: np.ndarray) -> int | None:
    """The index of the stance with the most cue matches, or None when none has any or two tie."""
    ranked = np.sort(counts)
    if ranked[-1] > 0 and ranked[-1] > ranked[-2]:
        return int(counts.argmax())
    return None


class StanceClassifier:
    def __init__(self, stance_set: StanceSet, embedder):
        self.stance_set = stance_set
        self.embedder = embedder
        self.names = [s.name for s in stance_set.stances]
        self.by_name = {s.name: s for s in stance_set.stances}
        self.examples = [embedder.encode(list(s.examples)) for s in stance_set.stances]

    def judge(
        self,
        texts: list[str],
        vectors: np.ndarray | None = None,
        neighbours: list[list[str]] | None = None,
    ) -> list[Judgement]:
        """A Judgement for each text; ``vectors`` are the texts' unit embeddings when already at hand,
        ``neighbours`` the texts beside each (a passage's previous and next in its document)."""
        if not texts:
            return []
        if vectors is None:
            vectors = self.embedder.encode(texts)
        neighbours = neighbours or [[] for _ in texts]
        similarities = [vectors @ examples.T for examples in self.examples]  # per stance: texts x examples
        scores = np.stack([np.sort(s, axis=1)[:, -TOP_EXAMPLES:].mean(axis=1) for s in similarities], axis=1)
        # A text's cues are read once per call: it is often also a neighbour, or a copy of another text.
        cues_of = functools.cache(self.cue_matches)
        return [
            self._judge(text, scores[i], [s[i] for s in similarities], neighbours[i], cues_of)
            for i, text in enumerate(texts)
        ]

    def _judge(
        self, text: str, scores: np.ndarray, similarities: list[np.ndarray], neighbours: list[str], cues_of
    ) -> Judgement:
        if len(text.split()) < self.stance_set.min_words:
            return Judgement(None, None, {"by": "too short"})
        if ONLY_A_QUESTION.fullmatch(text):
            return Judgement(None, None, {"by": "a question"})
        matched = cues_of(text)
        reasons = {"cues": _shown(matched), "examples": self._closest(similarities)}
        counts, by = self._counts(matched), "cues"
        if _winner(counts) is None:
            beside = self._neighbour_cues(neighbours, cues_of)
            if any(beside.values()):
                reasons["neighbour_cues"] = _shown(beside)
            counts, by = self._counts(beside), "neighbouring cues"
        best = _winner(counts)
        if best is not None:
            confidence = min(1.0, counts[best] / (counts.sum() + 0.5))
        else:
            best = int(scores.argmax())
            weights = np.exp((scores - scores.max()) / TEMPERATURE)
            confidence = float(weights[best] / weights.sum())
            by = "examples"
            if scores[best] < self.stance_set.min_similarity:
                return Judgement(None, None, {**reasons, "by": "nothing close"})
        confidence = round(float(confidence), 3)
        reasons["by"] = by
        if confidence < self.stance_set.min_confidence:
            return Judgement(None, confidence, {**reasons, "abstained": self.names[best], "confidence": confidence})
        return Judgement(self.names[best], confidence, reasons)

    def _counts(self, matched: dict[str, list[str]]) -> np.ndarray:
        return np.array([len(matched[name]) for name in self.names], dtype=float)

    def _neighbour_cues(self, neighbours: list[str], cues_of) -> dict[str, list[str]]:
        """The cue phrases of the texts beside one, under the stance each argues (all of them together)."""
        together: dict[str, list[str]] = {name: [] for name in self.names}
        for neighbour in neighbours:
            if neighbour and len(neighbour.split()) >= self.stance_set.min_words:
                for name, found in cues_of(neighbour).items():
                    together[name].extend(found)
        return together

    def cue_matches(self, text: str) -> dict[str, list[str]]:
        """The cue phrases of ``text``, under the stance each argues in its clause.

        A cue argues its own stance, unless its clause asks a question, reports
        what others say ("people tell you that you need a PhD": not counted) or
        reports a belief in order to answer it ("the myth that you need a PhD":
        the stance's ``negated`` one), negates it before it an odd number of
        times ("I never needed calculus": the ``negated`` one; a cue's own
        words, such as "cannot ... without math", are part of what it argues) or
        limits it before or within it ("you need only basic statistics": the
        stance's ``limited`` one). Overlapping phrases that argue one stance
        count once: two cues that fit the same words are one argument.
        """
        found = [
            (argued, m.start(), m.end())
            for stance in self.stance_set.stances
            for cue in stance.cues
            for m in cue.finditer(text)
            if (argued := self._argued(stance, text, m.start(), m.end()))
        ]
        kept: list[tuple[str, int, int]] = []
        for argued, start, end in sorted(found, key=lambda f: f[1] - f[2]):  # the longest phrase first
            if not any(a == argued and start < e and s < end for a, s, e in kept):
                kept.append((argued, start, end))
        matched: dict[str, list[str]] = {s.name: [] for s in self.stance_set.stances}
        for argued, start, end in self._weighed(text, sorted(kept, key=lambda k: k[1])):
            matched[argued].append(text[start:end])
        return matched

    def _weighed(self, text: str, cues: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """``cues`` (in text order), where two that argue a stance and its ``negated`` one in one
        sentence, joined by "but" ("you don't need advanced calculus, but you do need vectors"),
        both argue the pair's ``limited`` stance: the sentence weighs which math, not whether."""
        weighed = list(cues)
        for i, (first, _, first_end) in enumerate(cues):
            for j in range(i + 1, len(cues)):
                second, second_start, _ = cues[j]
                between = text[first_end:second_start]
                if SENTENCE_END.search(between):
                    break
                if self.by_name[first].negated == second and WEIGHED.search(between):
                    middle = self.by_name[first].limited or self.by_name[second].limited
                    if middle:
                        weighed[i] = (middle, *cues[i][1:])
                        weighed[j] = (middle, *cues[j][1:])
        return weighed

    def _argued(self, stance: Stance, text: str, start: int, end: int) -> str | None:
        """The stance that the cue of ``stance`` found at text[start:end] argues in its clause, or None."""
        scope = self.stance_set.scope
        if CLAUSE_END.search(text[start:end].rstrip(".!?")):
            return None  # a phrase across two clauses ("learn ML, but felt you needed math first") is not one cue
        clause_start, clause_end = _clause(text, start, end)
        clause, before, upto = text[clause_start:clause_end], text[clause_start:start], text[clause_start:end]
        if clause.rstrip().endswith("?") or QUESTION.match(clause):
            return None
        if clause_start and CONTINUED_REPORT.match(clause):
            upto = text[_clause(text, clause_start - 1, clause_start - 1)[0] : end]
        if scope.disputed and scope.disputed.search(upto):
            return stance.negated
        if scope.hearsay and scope.hearsay.search(upto):
            return None
        if stance.negated and scope.negation and len(scope.negation.findall(before)) % 2:
            return stance.negated
        if stance.limited and scope.limit and scope.limit.search(upto):
            return stance.limited
        return stance.name

    def _closest(self, similarities: list[np.ndarray]) -> list[dict]:
        """The examples (of any stance) the text is closest to, best first."""
        pairs = [
            (float(sim), stance.name, stance.examples[j])
            for stance, sims in zip(self.stance_set.stances, similarities)
            for j, sim in enumerate(sims)
        ]
        pairs.sort(reverse=True)
        return [
            {"stance": name, "example": example, "similarity": round(sim, 3)}
            for sim, name, example in pairs[:TOP_EXAMPLES]
        ]

    def classify_texts(self, texts: list[str]) -> list[tuple[str | None, float | None]]:
        return [(j.stance, j.confidence) for j in self.judge(texts)]
