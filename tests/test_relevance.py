"""The relevance score (kb/analysis/relevance.py): configuration, scoring, the labelled set."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crawler.extract import extract_article
from kb.analysis.relevance import (
    BUILTIN,
    RelevanceError,
    RelevanceScorer,
    document_score,
    language_flag,
    load_relevance,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "kb" / "sample_site" / "articles"


@pytest.fixture(scope="module")
def scorer(embedder):
    return RelevanceScorer(load_relevance(), embedder)


def article_scores(scorer, name: str) -> list[float]:
    text = extract_article((SAMPLE / name).read_text(encoding="utf-8"), f"http://127.0.0.1/articles/{name}")["text"]
    return scorer.score_passages([p for p in text.split("\n") if p.strip()])


def test_sample_pages_on_and_off_the_question(scorer):
    on_topic = document_score(article_scores(scorer, "how-much-math.html"))
    off_topic = document_score(article_scores(scorer, "sourdough.html"))
    assert on_topic >= scorer.config.threshold > off_topic
    assert off_topic < 0.1


# Sample content written for this test: a technical post that uses math throughout and says nothing
# about how much of it anyone needs.
TECHNICAL_POST = [
    "Sample content. In this post we derive the gradient of the softmax cross-entropy loss and show why it "
    "takes such a simple form.",
    "Let z be the vector of logits and p = softmax(z), so that p_i = exp(z_i) / sum_j exp(z_j). The loss for "
    "the true class y is L = -log p_y.",
    "Differentiating, dL/dz_i = p_i - 1[i = y]. The Jacobian of the softmax is diag(p) - p p^T, and multiplying "
    "it by the gradient of the log gives exactly this difference.",
    "For a linear layer z = W x + b, the chain rule gives dL/dW = (p - e_y) x^T and dL/db = p - e_y, an outer "
    "product that costs one matrix multiplication per mini-batch.",
    "With label smoothing the target becomes (1 - eps) e_y + eps / K, and the gradient is p minus that target; "
    "the Hessian stays positive semi-definite, so the loss remains convex in z.",
    "Next time we will extend the derivation to the attention weights of a transformer, where the same softmax "
    "Jacobian appears once per query.",
]


def test_a_math_heavy_technical_post_is_not_about_the_question(scorer):
    assert document_score(scorer.score_passages(TECHNICAL_POST)) < scorer.config.threshold
    assert max(scorer.score_passages(TECHNICAL_POST)) < scorer.config.threshold


@pytest.mark.skipif(not (ROOT.parent / "shared" / "seeds").exists(), reason="shared/seeds is not beside the project")
def test_sourdough_scores_below_every_seed_page(scorer):
    sourdough = document_score(article_scores(scorer, "sourdough.html"))
    for seed in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        paragraphs = [p for p in seed.read_text(encoding="utf-8").split("\n") if len(p.split()) >= 8]
        assert document_score(scorer.score_passages(paragraphs)) > sourdough, seed.name


def test_explain_gives_the_parts_of_a_score(scorer, embedder):
    text = "How much math do you need for machine learning? Enough linear algebra to read a model's shapes."
    vectors = embedder.encode([text])
    [score] = scorer.score_passages([text], vectors)
    [parts] = scorer.explain([text], vectors, [score])
    assert parts["score"] == score >= scorer.config.threshold
    assert parts["discussion_cues"] and parts["math_near_ml"] > 0
    assert parts["closest_example"]["similarity"] > parts["closest_counterexample"]["similarity"]


def test_missing_counterexamples_fall_back_with_a_warning(tmp_path, caplog, embedder):
    path = tmp_path / "relevance.yml"
    path.write_text("question: How much math do ML engineers need?\nexamples: [Learn calculus first.]\n")
    with caplog.at_level(logging.WARNING):
        config = load_relevance(path)
    assert "no 'counterexamples'" in caplog.text and config.counterexamples
    assert RelevanceScorer(config, embedder).score_passages(["Learn calculus before machine learning."])


def test_lexical_evidence_needs_math_near_machine_learning(scorer):
    near = "Linear algebra is what neural networks are made of, and calculus is how they are trained as models."
    far = (
        "Linear algebra was my favourite course. "
        + "We walked in the hills all week. " * 20
        + "Later I tried machine learning."
    )
    assert scorer.lexical(near) == 1.0
    assert scorer.lexical(far) == 0.0
    assert scorer.lexical("We ate bread and cheese by the lake.") == 0.0
    # All-capital terms match as written: "ai" inside other words or lower case is not AI.
    assert scorer.lexical("Statistics for AI practitioners") > 0
    assert scorer.lexical("statistics said the ai of a cat") == 0.0


def test_document_score_is_the_mean_of_its_best_three_passages():
    assert document_score([0.9, 0.1, 0.8, 0.7, 0.0]) == 0.8
    assert document_score([0.5]) == 0.5
    assert document_score([]) is None


def test_topics_terms_are_math_terms(tmp_path):
    topics = tmp_path / "topics.yml"
    topics.write_text("topics:\n  - name: tropical geometry\n    terms: [tropical semiring]\n")
    config = load_relevance(ROOT / "relevance.yml", topics)
    assert "tropical semiring" in config.math_terms
    assert "math" in config.math_terms


@pytest.mark.parametrize("content", ["", "question: ''\nexamples: []\n", "threshold: 0.5\n"])
def test_empty_description_falls_back_to_the_builtin_one(tmp_path, caplog, content):
    path = tmp_path / "relevance.yml"
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="kb.analysis.relevance"):
        config = load_relevance(path)
    assert config.question == BUILTIN.question and config.builtin
    assert "built-in description" in caplog.text and str(path) in caplog.text


def test_missing_file_falls_back_to_the_builtin_one(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="kb.analysis.relevance"):
        config = load_relevance(tmp_path / "nowhere.yml")
    assert config.builtin and config.examples == BUILTIN.examples
    assert "not found" in caplog.text


@pytest.mark.parametrize(
    "content, line, words",
    [
        ("question: math\nthreshold: 2\n", 2, "'threshold' must be a number from 0 to 1"),
        ("question: math\nexamples:\n  - fine\n  - 3\n", 2, "'examples' must be a list"),
        ("question: math\nwindow: -1\n", 2, "'window' must be a whole number"),
        ("question: math\nthreshhold: 0.3\n", 2, "did you mean 'threshold'"),
        ("question: [math]\n", 1, "'question' must be text"),
        ("question: math\n  examples: [\n", 2, "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_and_line(tmp_path, content, line, words):
    path = tmp_path / "relevance.yml"
    path.write_text(content)
    with pytest.raises(RelevanceError) as error:
        load_relevance(path)
    assert f"{path}:{line}:" in str(error.value) and words in str(error.value)


def test_other_languages_are_scored_and_flagged(scorer):
    french = (
        "Combien de mathématiques faut-il pour faire de l'apprentissage automatique ? "
        "L'algèbre linéaire et les probabilités suffisent pour commencer."
    )
    [score] = scorer.score_passages([french])
    assert 0.0 <= score <= 1.0
    assert language_flag(french) == "language fr"
    assert language_flag("How much linear algebra does a machine learning engineer need to know?") is None
    assert language_flag("Hi", declared="de-DE") == "language de"


@pytest.mark.skipif(not (ROOT.parent / "shared" / "seeds").exists(), reason="shared/seeds is not beside the project")
def test_labelled_set_meets_the_targets(scorer):
    """tests/gold/relevance.py's figures: F1 >= 0.9, no seed passage about math in ML missed."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "gold"))
    from relevance import evaluate

    result = evaluate(scorer)
    assert result["passages"] >= 60
    assert result["f1"] >= 0.9, result["errors"]
    assert result["seed_passages_missed"] == []
    assert {o["flag"] for o in result["other_languages"]} == {"language fr", "language de"}


# -- focused crawling -------------------------------------------------------

ON_TOPIC = [
    "How much linear algebra does a machine learning engineer need? Enough to read the shapes of the matrices in a neural network and to see why a layer's gradients vanish.",
    "Calculus matters for deep learning because backpropagation is the chain rule; practitioners who know it can debug a model whose loss stops falling.",
    "Probability and statistics decide whether a machine learning result is real: a data scientist needs the variance of a test score before trusting a model.",
    "Students ask whether they must study mathematics before machine learning. Learn the math your models need as you go, but do learn it.",
    "Optimisation theory explains why gradient descent diverges with a large learning rate; engineers training neural networks meet it weekly.",
    "A strong math background helps AI practitioners invent new algorithms instead of only calling libraries.",
]
OFF_TOPIC = [
    "Knead the dough for ten minutes, let it rise somewhere warm until doubled, then shape a round loaf.",
    "A rye starter smells sharper than a wheat one; feed it twice a day for a week before baking with it.",
    "Bake the loaf in a covered pot for twenty minutes, then uncover it so the crust can brown.",
    "Flour with more protein makes a chewier crumb; mix in a little whole wheat for flavour.",
    "Cool the bread on a rack for an hour before slicing, or the crumb will be gummy.",
    "Store the loaf cut side down on a wooden board; a paper bag keeps the crust crisp for a day.",
]


def branching_site():
    """A home page on the question, a branch of six pages on math in ML and one of six on bread."""
    from tests.sites import RoutedSite, html_page

    routes = {
        "/": html_page(
            "Notes on math in machine learning", ON_TOPIC[0], links=("/articles/bread-1.html", "/articles/ml-1.html")
        )
    }
    children = {1: (2, 3), 2: (4,), 3: (5, 6)}
    for branch, texts, title in (("ml", ON_TOPIC, "Math for ML, part"), ("bread", OFF_TOPIC, "Baking, part")):
        for n in range(1, 7):
            links = tuple(f"/articles/{branch}-{c}.html" for c in children.get(n, ()))
            routes[f"/articles/{branch}-{n}.html"] = html_page(f"{title} {n}", texts[n - 1], links=links)
    return RoutedSite(routes)


def focused_sources(site, *options: str, delay: float = 0) -> str:
    extra = "".join(f"    {option}\n" for option in options)
    return (
        f"download_delay: {delay}\nsources:\n  - name: notes\n    start_urls: ['{site.base_url}/']\n"
        f"    max_depth: 4\n    robots_sitemaps: false\n{extra}"
    )


def stored_titles(db_path) -> set[str]:
    import sqlite_utils

    return {r["title"] for r in sqlite_utils.Database(db_path)["documents"].rows}


def test_focused_crawl_skips_the_off_topic_branch_and_keeps_every_relevant_page(tmp_path):
    from tests.conftest import crawl

    with branching_site() as site:
        unfocused = crawl(focused_sources(site), tmp_path / "all.db", tmp_path)
        unfocused_requests = [p for p in site.requests if p.startswith("/articles/")]
        site.requests.clear()
        focused = crawl(focused_sources(site, "min_relevance: 0.2"), tmp_path / "focused.db", tmp_path)
        focused_requests = [p for p in site.requests if p.startswith("/articles/")]
    assert unfocused.returncode == 0 and focused.returncode == 0, focused.stderr[-3000:]
    assert len(unfocused_requests) == 12
    assert len(focused_requests) < len(unfocused_requests)
    assert sorted(focused_requests) == sorted(
        [f"/articles/ml-{n}.html" for n in range(1, 7)] + ["/articles/bread-1.html"]
    )
    relevant = {t for t in stored_titles(tmp_path / "all.db") if not t.startswith("Baking")}
    assert relevant <= stored_titles(tmp_path / "focused.db")  # every relevant page, focused or not
    import sqlite_utils

    run = next(sqlite_utils.Database(tmp_path / "focused.db")["crawl_runs"].rows)
    source = next(sqlite_utils.Database(tmp_path / "focused.db")["sources"].rows)
    assert (source["focus"], source["min_relevance"]) == (1, 0.2)
    assert run["low_relevance"] == 1
    assert '"low relevance": 1' in run["per_source"]
    assert "1 low relevance" in focused.stderr
    assert "not following the 2 links of" in focused.stderr and "bread-1.html" in focused.stderr
    assert "source notes:" in focused.stderr and "1 low relevance (links not followed)" in focused.stderr


def wide_site(children: int = 20):
    """A home page linking to one page on math in ML and one on bread, each linking to ``children`` more."""
    from tests.sites import RoutedSite, html_page

    routes = {
        "/": html_page(
            "Notes on math in machine learning", ON_TOPIC[0], links=("/articles/bread.html", "/articles/ml.html")
        )
    }
    for branch, texts in (("ml", ON_TOPIC), ("bread", OFF_TOPIC)):
        links = tuple(f"/articles/{branch}/{n}.html" for n in range(children))
        routes[f"/articles/{branch}.html"] = html_page(f"{branch} hub", texts[0], texts[1], links=links)
        for n in range(children):
            routes[f"/articles/{branch}/{n}.html"] = html_page(f"{branch} {n}", texts[n % len(texts)])
    return RoutedSite(routes)


@pytest.mark.parametrize("focus", [True, False])
def test_links_of_relevant_pages_are_fetched_first(tmp_path, focus):
    """Scrapy hands up to CONCURRENT_REQUESTS (8) requests to the downloader as soon as they are
    queued; what waits beyond them is ordered by priority. So once both hubs are read, every
    page on math in ML goes out before the off-topic pages still waiting (without focus, not)."""
    from tests.conftest import crawl

    with wide_site() as site:
        result = crawl(focused_sources(site, f"focus: {str(focus).lower()}", delay=0.02), tmp_path / "kb.db", tmp_path)
        order = [p for p in site.requests if p.startswith("/articles/")]
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(order) == 42
    bread = [i for i, path in enumerate(order) if path.startswith("/articles/bread/")]
    ml = [i for i, path in enumerate(order) if path.startswith("/articles/ml/")]
    in_flight = 8  # CONCURRENT_REQUESTS in crawler/settings.py
    assert (max(ml) < bread[in_flight]) == focus, order


def test_listed_article_urls_are_fetched_whatever_their_score(tmp_path):
    from tests.conftest import crawl

    with branching_site() as site:
        yaml = (
            f"download_delay: 0\nsources:\n  - name: listed\n"
            f"    start_urls: ['{site.base_url}/articles/bread-2.html', '{site.base_url}/articles/bread-3.html']\n"
            f"    max_depth: 1\n    robots_sitemaps: false\n    min_relevance: 0.9\n"
        )
        result = crawl(yaml, tmp_path / "kb.db", tmp_path)
        requested = [p for p in site.requests if p.startswith("/articles/")]
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(requested) == ["/articles/bread-2.html", "/articles/bread-3.html"]
    assert stored_titles(tmp_path / "kb.db") == {"Baking, part 2", "Baking, part 3"}


def test_analysis_stores_scores_and_flags_other_languages(tmp_path):
    """`kb crawl` (embedding, then analysis) scores every document and passage; a French page
    (declared English by its template) is scored without trouble and flagged by its language."""
    import sqlite_utils

    from tests.conftest import crawl
    from tests.sites import RoutedSite, html_page

    french = (
        "Combien de mathématiques faut-il pour faire de l'apprentissage automatique ? "
        "L'algèbre linéaire, le calcul différentiel et les probabilités suffisent pour commencer, "
        "et on apprend le reste en chemin, quand un projet le demande."
    )
    routes = {
        "/": html_page("Notes", "Index of notes.", links=("/a/math.html", "/a/bread.html", "/a/fr.html")),
        "/a/math.html": html_page("Math for ML", ON_TOPIC[0], ON_TOPIC[1]),
        "/a/bread.html": html_page("Bread", OFF_TOPIC[0], OFF_TOPIC[1]),
        "/a/fr.html": html_page("Mathématiques", french),
    }
    with RoutedSite(routes) as site:
        yaml = (
            f"download_delay: 0\nsources:\n  - name: notes\n    start_urls: ['{site.base_url}/']\n"
            f"    allow: ['/a/']\n    robots_sitemaps: false\n"
        )
        result = crawl(yaml, tmp_path / "kb.db", tmp_path, embed=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 of 3 documents relevant" in result.stderr
    db = sqlite_utils.Database(tmp_path / "kb.db")
    docs = {r["title"]: r for r in db["documents"].rows}
    threshold = load_relevance().threshold
    assert docs["Math for ML"]["relevance"] >= threshold > docs["Bread"]["relevance"]
    assert docs["Mathématiques"]["relevance"] is not None
    assert docs["Mathématiques"]["relevance_flag"] == "language fr"
    assert docs["Math for ML"]["relevance_flag"] is None and docs["Bread"]["relevance_flag"] is None
    assert docs["Math for ML"]["relevance_band"] == min(int(docs["Math for ML"]["relevance"] * 10), 9) / 10
    assert db.execute("select count(*) from passages where relevance is null").fetchone()[0] == 0


def test_kb_search_hides_off_topic_passages_unless_asked(crawled_db):
    from tests.conftest import run_kb

    hidden = run_kb("search", "sourdough starter", "--db", crawled_db, "--mode", "keyword")
    assert hidden.returncode == 0 and "sourdough" not in hidden.stdout
    assert "--min-relevance 0 searches everything" in hidden.stderr
    shown = run_kb("search", "sourdough starter", "--db", crawled_db, "--mode", "keyword", "--min-relevance", "0")
    assert shown.returncode == 0 and "sourdough" in shown.stdout
    bad = run_kb("search", "sourdough starter", "--db", crawled_db, "--min-relevance", "1.5")
    assert bad.returncode == 2 and "min-relevance" in bad.stderr
