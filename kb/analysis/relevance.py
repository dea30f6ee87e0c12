"""relevance.yml: what the knowledge base is about, and how relevant a text is to it.

A passage's score (0 to 1) is the probability that it discusses the question,
from a logistic regression trained, each time the file is loaded (a few
milliseconds), on relevance.yml's question and examples against its
counterexamples. Its features:

- the passage's sentence embedding;
- cues that a passage discusses the math people need ("how much math",
  "math for machine learning", "a math background", "learn statistics"):
  a tutorial that only *uses* math has equations but not these;
- math terms (relevance.yml's and every term of topics.yml) used within a few
  words of machine-learning terms.

Each score keeps its parts (``explain``): the probability, the cues found,
the lexical evidence and the closest example and counterexample.

A document's score summarises its passages: the mean of its best three, so
one stray sentence does not make a page relevant and one off-topic paragraph
does not sink a relevant one. Everything runs offline on the CPU, with the
model that made the passage vectors; `kb analyze` stores the scores and the
crawler uses the same scorer to decide which links to follow first.

Pages in a language other than English are scored all the same (the model
and the terms are English, so they score low) and flagged with their
language, detected by py3langid.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..defaults import default_file
from ..yamlfile import Mapping, Sequence, YamlFileError, read_yaml_file, unknown_key_message
from .topics import DEFAULT_TOPICS_FILE, load_topics

logger = logging.getLogger(__name__)

DEFAULT_RELEVANCE_FILE = default_file("relevance.yml")
KEYS = ("question", "examples", "counterexamples", "threshold", "window", "math_terms", "ml_terms")
LEXICAL_SATURATION = 2  # math terms near ML terms that make the lexical evidence complete
CUE_SATURATION = 3  # discussion cues that make that evidence complete
CUE_WEIGHT = 0.5  # how much the lexical features weigh against the embedding's 384 dimensions
REGULARISATION = 64.0  # the classifier's C, chosen on real pages (bench/realtext.py, BENCHMARKS.md)
_MATH = (
    r"(?:math(?:s|ematics|ematical)?|statistics|probability|calculus|linear algebra|algebra|derivatives?|"
    r"equations?|theory|stats)"
)
# Phrases of a text that discusses which or how much math people need.
DISCUSSION = re.compile(
    rf"\b(?:how much|which|what|do (?:i|you|we) need|need(?:s|ed)? to (?:know|learn)|learn(?:ing)?|stud(?:y|ying)|"
    rf"background|prerequisites?|skills?|required|requirements?|knowledge of|good at|afraid of|intimidat\w*|"
    rf"worr\w*|without)\b[^.!?]{{0,50}}\b{_MATH}\b"
    rf"|\b{_MATH}\b[^.!?]{{0,50}}\b(?:for|in)\s+(?:machine learning|ml|ai|data science|deep learning)\b",
    re.IGNORECASE,
)
DOCUMENT_TOP_PASSAGES = 3
ENGLISH = "en"


class RelevanceError(YamlFileError):
    """relevance.yml cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class RelevanceConfig:
    question: str
    examples: tuple[str, ...]
    threshold: float
    window: int
    math_terms: tuple[str, ...]
    ml_terms: tuple[str, ...]
    builtin: bool = False  # True when relevance.yml was missing or empty
    counterexamples: tuple[str, ...] = ()


BUILTIN_COUNTEREXAMPLES = (
    "Gradient descent updates the parameters in the direction of the negative gradient, scaled by the learning rate.",
    "Attention computes a weighted sum of value vectors, with weights from the softmax of scaled dot products.",
    "Build a portfolio of real projects; it proves to employers that you can do more than follow tutorials.",
    "Children learn fractions more easily when teachers use pictures and everyday examples.",
    "Keep the sourdough starter near the oven in winter and feed it twice a day.",
    "He is best known for his work on convolutional networks and won the Turing Award in 2018.",
)
BUILTIN = RelevanceConfig(
    question="How much mathematics do machine-learning practitioners need?",
    examples=(
        "Learn linear algebra, calculus and probability before studying machine learning.",
        "You can use machine learning without a deep understanding of the math, but it helps you debug models.",
        "Which math topics matter most for a career in AI?",
    ),
    threshold=0.7,
    window=40,
    math_terms=("math", "maths", "mathematics", "mathematical", "algebra", "statistics", "probability", "calculus"),
    ml_terms=(
        "machine learning",
        "deep learning",
        "ML",
        "AI",
        "artificial intelligence",
        "neural network",
        "neural networks",
        "data science",
        "model",
        "models",
        "algorithm",
        "algorithms",
    ),
    builtin=True,
    counterexamples=BUILTIN_COUNTEREXAMPLES,
)


def load_relevance(
    path: str | Path = DEFAULT_RELEVANCE_FILE, topics_path: str | Path = DEFAULT_TOPICS_FILE
) -> RelevanceConfig:
    """The relevance configuration, with topics.yml's terms among the math terms.

    A missing file, or one without a question and examples, falls back to
    the built-in description with a warning: relevance is a view on the data,
    and nothing stored depends on it. A file with a mistake raises
    RelevanceError naming the line.
    """
    if not Path(path).exists():
        logger.warning("%s not found: using the built-in description of the question", path)
        return BUILTIN
    data = read_yaml_file(path, RelevanceError)
    if data is None:
        data = Mapping()
        data.line, data.key_lines = 1, {}
    if not isinstance(data, Mapping):
        raise RelevanceError(f"{path}:{getattr(data, 'line', 1)}: expected a mapping of {', '.join(KEYS)}")
    for key, line in data.key_lines.items():
        if key not in KEYS:
            raise RelevanceError(f"{path}:{line}: {unknown_key_message(key, KEYS, 'relevance.yml')}")
    question = data.get("question")
    if question is not None and not isinstance(question, str):
        raise RelevanceError(f"{path}:{data.key_lines['question']}: 'question' must be text")
    examples = _strings(data, "examples", path)
    counterexamples = _strings(data, "counterexamples", path)
    if not (question or "").strip() and not examples:
        logger.warning(
            "%s describes no question (no 'question' and no 'examples'): using the built-in description", path
        )
        config = BUILTIN
    else:
        if not counterexamples:
            logger.warning(
                "%s has no 'counterexamples': using a few built-in ones (passages not about "
                "the question teach the score as much as passages about it)",
                path,
            )
        config = RelevanceConfig(
            (question or "").strip() or BUILTIN.question,
            tuple(examples),
            BUILTIN.threshold,
            BUILTIN.window,
            BUILTIN.math_terms,
            BUILTIN.ml_terms,
            counterexamples=tuple(counterexamples) or BUILTIN_COUNTEREXAMPLES,
        )
    threshold = data.get("threshold", config.threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise RelevanceError(f"{path}:{data.key_lines.get('threshold', 1)}: 'threshold' must be a number from 0 to 1")
    window = data.get("window", config.window)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise RelevanceError(f"{path}:{data.key_lines.get('window', 1)}: 'window' must be a whole number of words >= 1")
    math_terms = _strings(data, "math_terms", path) or list(config.math_terms)
    ml_terms = _strings(data, "ml_terms", path) or list(config.ml_terms)
    for topic in load_topics(topics_path):
        math_terms.extend(topic.terms)
    return RelevanceConfig(
        config.question,
        config.examples,
        float(threshold),
        window,
        tuple(dict.fromkeys(math_terms)),
        tuple(ml_terms),
        config.builtin,
        config.counterexamples,
    )


def _strings(data: Mapping, key: str, path) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RelevanceError(f"{path}:{data.key_lines[key]}: '{key}' must be a list of non-empty texts")
    return [v.strip() for v in value]


class TermMatcher:
    """Finds terms as whole words (any case, except all-capital terms such as ML and AI)."""

    def __init__(self, terms: tuple[str, ...]):
        exact = [t for t in terms if t.isupper()]
        folded = [t for t in terms if not t.isupper()]
        patterns = []
        if folded:
            patterns.append("(?i:" + "|".join(_term_pattern(t) for t in sorted(folded, key=len, reverse=True)) + ")")
        if exact:
            patterns.append("|".join(_term_pattern(t) for t in sorted(exact, key=len, reverse=True)))
        self.regex = re.compile(r"\b(?:" + "|".join(patterns) + r")\b") if patterns else None

    def offsets(self, text: str) -> list[int]:
        return [m.start() for m in self.regex.finditer(text)] if self.regex else []


def _term_pattern(term: str) -> str:
    return r"\s+".join(re.escape(word) for word in term.split())


_WORD = re.compile(r"\w+")


class MathNearML:
    """The lexical feature of a relevance score: how many math terms sit within ``window`` words of a
    machine-learning term, 0..1."""

    def __init__(self, config: RelevanceConfig):
        self.math = TermMatcher(config.math_terms)
        self.ml = TermMatcher(config.ml_terms)
        self.window = config.window

    def __call__(self, text: str) -> float:
        math, ml = self.math.offsets(text), self.ml.offsets(text)
        if not math or not ml:
            return 0.0
        starts = [m.start() for m in _WORD.finditer(text)]
        math_words = np.searchsorted(starts, math, side="right")
        ml_words = np.searchsorted(starts, ml, side="right")
        near = sum(1 for m in math_words if np.min(np.abs(ml_words - m)) <= self.window)
        return min(near / LEXICAL_SATURATION, 1.0)


def training_texts(config: RelevanceConfig) -> list[str]:
    """The texts the classifier learns from: the question and examples, then the counterexamples."""
    return [config.question, *config.examples, *config.counterexamples]


class RelevanceScorer:
    """Scores passages and documents for one RelevanceConfig with one embedding model."""

    def __init__(self, config: RelevanceConfig, embedder):
        from sklearn.linear_model import LogisticRegression

        self.config = config
        self.embedder = embedder
        self.lexical = MathNearML(config)
        self.about = [config.question, *config.examples]
        self.against = list(config.counterexamples)
        self.about_vectors = embedder.encode(self.about)
        self.against_vectors = embedder.encode(self.against)
        # training_texts: the same texts, in the same order, that relevance_digest reads the terms of
        features = self._features(training_texts(config), np.vstack([self.about_vectors, self.against_vectors]))
        labels = [1] * len(self.about) + [0] * len(self.against)
        self.classifier = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000)
        self.classifier.fit(features, labels)

    def _features(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        lexical = np.array([[self.discussion(t), self.lexical(t)] for t in texts]).reshape(len(texts), 2)
        return np.hstack([vectors, CUE_WEIGHT * lexical])

    def discussion(self, text: str) -> float:
        """0..1: phrases that discuss the math people need ("how much math", "math for machine learning")."""
        return min(len(DISCUSSION.findall(text)) / CUE_SATURATION, 1.0)

    def score_passages(self, texts: list[str], vectors: np.ndarray | None = None) -> list[float]:
        """A score for each passage text; ``vectors`` are their embeddings when already at hand."""
        if not texts:
            return []
        if vectors is None:
            vectors = self.embedder.encode(texts)
        probabilities = self.classifier.predict_proba(self._features(texts, vectors))[:, 1]
        return [round(float(p), 3) for p in probabilities]

    def explain(self, texts: list[str], vectors: np.ndarray, scores: list[float]) -> list[dict]:
        """The parts of each passage's score: the probability, the discussion cues and the math terms
        near ML terms found, and the closest example and counterexample."""
        about, against = vectors @ self.about_vectors.T, vectors @ self.against_vectors.T
        return [
            {
                "score": score,
                "discussion_cues": [m.group(0) for m in DISCUSSION.finditer(text)][:3],
                "math_near_ml": round(self.lexical(text), 3),
                "closest_example": _closest(self.about, about[i]),
                "closest_counterexample": _closest(self.against, against[i]),
            }
            for i, (text, score) in enumerate(zip(texts, scores))
        ]

    def is_relevant(self, score: float | None) -> bool:
        return score is not None and score >= self.config.threshold


def _closest(texts: list[str], similarities: np.ndarray) -> dict:
    best = int(similarities.argmax())
    return {"text": texts[best], "similarity": round(float(similarities[best]), 3)}


def document_score(passage_scores: list[float]) -> float | None:
    """The mean of a document's best DOCUMENT_TOP_PASSAGES passage scores (None without passages)."""
    if not passage_scores:
        return None
    best = sorted(passage_scores, reverse=True)[:DOCUMENT_TOP_PASSAGES]
    return round(sum(best) / len(best), 3)


def language_flag(text: str, declared: str | None = None) -> str | None:
    """None for English text; otherwise "language XX", XX from py3langid (or the page's
    own declaration when the text is too short to tell)."""
    import py3langid

    sample = " ".join(text.split()[:400])
    detected = py3langid.classify(sample)[0] if len(sample) >= 40 else (declared or ENGLISH)[:2].lower()
    return None if detected == ENGLISH else f"language {detected}"
