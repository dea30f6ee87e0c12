"""Stances (kb/analysis/stance.py, stances.yml): what a statement argues, abstentions, reasons, and bad input."""

import json
import re
import urllib.parse

import pytest

from kb.analysis.stance import StanceClassifier, StancesError, load_stances

from .conftest import datasette_get, run_kb

TWO_STANCES = """\
stances:
  - name: first
    examples: [Learn the math first and learn it well.]
  - name: later
    examples: [The math can wait until a project needs it.]
"""


@pytest.fixture(scope="module")
def classifier(embedder):
    return StanceClassifier(load_stances(), embedder)


# -- bad stances.yml: a clear error naming file and line ------------------------------------------


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("stances:\n  - name: only\n    examples: [One stance is not a comparison.]\n", 1, "at least 2 stances"),
        (
            "stances:\n  - name: first\n    examples: []\n  - name: later\n    examples: [x]\n",
            2,
            "a list of example sentences",
        ),
        ("stances:\n  - name: first\n  - name: later\n    examples: [x]\n", 2, "a list of example sentences"),
        (
            "stances:\n  - name: first\n    examples:\n      - Il faut apprendre les mathématiques avant tout le reste.\n"
            "  - name: later\n    examples: [The math can wait.]\n",
            4,
            "looks like fr, not English",
        ),
        (
            "stances:\n  - name: first\n    cues: ['(unclosed']\n    examples: [x]\n  - name: later\n    examples: [y]\n",
            3,
            "not a valid regular expression",
        ),
        ("stances:\n  - name: same\n    examples: [x]\n  - name: same\n    examples: [y]\n", 2, "named alike"),
        ("min_confidence: lots\n" + TWO_STANCES, 1, "'min_confidence' must be a number"),
        (
            TWO_STANCES.replace("    examples: [Learn", "    negated: sooner\n    examples: [Learn"),
            3,
            "'negated' names no stance",
        ),
        (
            TWO_STANCES.replace("    examples: [Learn", "    limited: [later]\n    examples: [Learn"),
            3,
            "'limited' must be the name of a stance",
        ),
        ("scope: [not]\n" + TWO_STANCES, 1, "'scope' must be a mapping"),
        ("scope:\n  negation: never\n" + TWO_STANCES, 2, "'scope: negation' must be a list"),
        ("scope:\n  hedges: [maybe]\n" + TWO_STANCES, 2, "hedges"),
        ("scope:\n  limit: ['(only']\n" + TWO_STANCES, 2, "not a valid regular expression"),
        ("scope:\n  negation: [never]\n  disputed: myth\n" + TWO_STANCES, 3, "'scope: disputed' must be a list"),
    ],
)
def test_bad_stances_file(tmp_path, text, line, fragment):
    path = tmp_path / "stances.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StancesError) as info:
        load_stances(path)
    assert str(info.value).startswith(f"{path}:{line}:") and fragment in str(info.value)


def test_kb_analyze_reports_a_bad_stances_file_and_keeps_the_stored_stances(db_copy, tmp_path):
    import sqlite_utils

    before = list(sqlite_utils.Database(db_copy).query("select id, stance from passages order by id"))
    path = tmp_path / "stances.yml"
    path.write_text("stances:\n  - name: only\n    examples: [x]\n", encoding="utf-8")
    result = run_kb("analyze", "--db", db_copy, "--stances", path)
    assert result.returncode != 0 and f"{path}:1:" in result.stderr and "Traceback" not in result.stderr
    assert list(sqlite_utils.Database(db_copy).query("select id, stance from passages order by id")) == before


# -- odd text: a sane label or none, never a crash -------------------------------------------------


def test_a_word_or_a_heading_gets_no_stance(classifier):
    word, heading = classifier.judge(["Math.", "How much math do you need?"])
    assert word.stance is None and word.reasons["by"] == "too short"
    assert heading.stance is None and heading.reasons["by"] == "too short"
    [question] = classifier.judge(["How much calculus does a machine learning engineer really need to know?"])
    assert question.stance is None and question.reasons == {"by": "a question"}


def test_arguing_two_stances_gets_a_label_or_none_with_both_sides_in_the_reasons(classifier):
    [both] = classifier.judge(
        [
            "You don't need any math to start building models with scikit-learn. To do research you "
            "must master linear algebra, calculus and probability first."
        ]
    )
    assert both.stance in (None, *classifier.names)
    assert {"essential foundation", "not needed to start"} <= set(both.reasons["cues"])
    assert both.stance is not None or both.reasons.get("abstained") or both.reasons["by"] == "nothing close"


def test_one_sentence_that_weighs_both_sides_argues_which_math(classifier):
    """ "Not this, but that" in one sentence says which math is needed, not whether: the middle stance."""
    matched = classifier.cue_matches("You don't need advanced calculus, but you do need to understand vectors.")
    assert matched == {
        "essential foundation": [],
        "learn what your decisions need": ["don't need advanced calculus", "need to understand vectors"],
        "not needed to start": [],
    }
    apart = classifier.cue_matches("You don't need advanced calculus. But you do need to understand vectors.")
    assert apart["not needed to start"] and apart["essential foundation"]
    [judged] = classifier.judge(["You don't have to master calculus to work in ML, but you must know statistics well."])
    assert judged.stance == "learn what your decisions need"


def test_mentioning_calculus_is_not_arguing_it_is_essential(classifier):
    """Negation and hedging decide: the same math words, three different arguments."""
    judged = classifier.judge(
        [
            "You don't need calculus or linear algebra to start; the libraries compute the gradients for you.",
            "Calculus and linear algebra are essential: without a solid grasp of them you cannot do machine learning well.",
            "How much calculus you need depends on your role; learn each piece just in time, when a project calls for it.",
        ]
    )
    assert [j.stance for j in judged] == [
        "not needed to start",
        "essential foundation",
        "learn what your decisions need",
    ]


def test_a_cue_is_read_in_its_clause(classifier):
    """The same need-math phrase argues three stances, or none, by the words around it in its clause."""
    cases = {
        "Anyone who wants to work in AI needs linear algebra and probability.": "essential foundation",
        "In ten years of shipping models I never needed calculus.": "not needed to start",
        "To do this job well you need only basic statistics.": "learn what your decisions need",
        "Most people tell you that you need a PhD in mathematics.": None,
        "Do you need calculus for machine learning?": None,
        "Can you learn machine learning without math": None,
        "People without a grounding in statistics make mistakes they never notice.": "essential foundation",
        "The math-first camp is not saying that every engineer needs a doctorate.": None,
        "The myth that you need advanced calculus keeps beginners away.": "not needed to start",
        "I once thought you needed a strong math background for this job.": "not needed to start",
        "Don't try to learn the deep mathematical theory all at once.": "not needed to start",
        "You cannot build anything useful here without a solid foundation in statistics.": "essential foundation",
        "Yes, without question, the theory makes you a stronger researcher.": None,
        "Many engineers believe that theory comes first. That you need calculus before any model.": (
            "not needed to start"
        ),
        "Foundational Math: an overview of the topics in this course and how they connect.": None,
        "Is the math worth it? For a working engineer, it is definitely needed.": "essential foundation",
        "You can build web apps and dashboards in a weekend with this framework.": None,
        "Not every job uses the same tools, and some roles lean on statistics far more.": (
            "learn what your decisions need"
        ),
        "The most important subjects are statistics and probability.": "learn what your decisions need",
    }
    for text, argued in cases.items():
        matched = {name: found for name, found in classifier.cue_matches(text).items() if found}
        assert list(matched) == ([argued] if argued else []), text


def test_overlapping_phrases_of_one_stance_count_once(classifier):
    """Two cues that fit the same words ("needed calculus", "never needed calculus") are one argument."""
    assert classifier.cue_matches("In my work I have never needed calculus.")["not needed to start"] == [
        "never needed calculus"
    ]
    three = classifier.cue_matches("I have never needed calculus. You can start without a math degree.")
    assert three["not needed to start"] == ["never needed calculus", "You can start", "without a math"]


def test_negations_count_before_the_cue(classifier):
    """A cue's own words are what it argues; only the negations before it, in its clause, turn it around."""
    matched = classifier.cue_matches("You cannot build reliable models without statistics.")
    assert matched["essential foundation"] and not matched["not needed to start"]
    matched = classifier.cue_matches("Nobody who hires for these roles thinks you can skip it: you need statistics.")
    assert matched["essential foundation"] and not matched["not needed to start"]
    matched = classifier.cue_matches("No, you don't need calculus to train a model.")
    assert matched["not needed to start"] and not matched["essential foundation"]


EXPLAINS_WHY = (
    "Gradients, step sizes and numerical stability are settled inside the training code, "
    "and a person who reads the training curves closely learns how the model behaves."
)


def test_a_passage_without_cues_takes_those_of_the_passages_beside_it(classifier):
    """An argument runs over paragraphs: the one that only explains takes the stance its neighbour argues."""
    assert not any(classifier.cue_matches(EXPLAINS_WHY).values())
    argued = "In six years of shipping models I never needed calculus to train one."
    [alone, beside, own] = classifier.judge(
        [EXPLAINS_WHY, EXPLAINS_WHY, argued],
        neighbours=[[], [argued, "A short heading"], ["You must master calculus and linear algebra first."]],
    )
    assert alone.reasons["by"] != "neighbouring cues"
    assert beside.stance == "not needed to start" and beside.reasons["by"] == "neighbouring cues"
    assert list(beside.reasons["neighbour_cues"]) == ["not needed to start"]
    assert "never needed calculus" in beside.reasons["neighbour_cues"]["not needed to start"]
    # A passage's own cues outrank its neighbours'.
    assert own.stance == "not needed to start" and own.reasons["by"] == "cues" and "neighbour_cues" not in own.reasons


def test_neighbours_arguing_against_each_other_leave_it_to_the_examples(classifier):
    [judged] = classifier.judge(
        [EXPLAINS_WHY],
        neighbours=[
            ["You must master calculus before you try anything else.", "I never needed calculus to train a model."]
        ],
    )
    assert judged.reasons["by"] in ("examples", "nothing close")
    assert set(judged.reasons["neighbour_cues"]) == {"essential foundation", "not needed to start"}


def test_each_judgement_keeps_its_confidence_and_closest_examples(classifier):
    [judged] = classifier.judge(
        [
            "Study probability and statistics thoroughly before you train a single model, "
            "because without them you are only guessing."
        ]
    )
    assert judged.stance == "essential foundation" and 0 < judged.confidence <= 1
    assert len(judged.reasons["examples"]) == 3
    assert all(set(e) == {"stance", "example", "similarity"} for e in judged.reasons["examples"])


def test_unsure_judgements_are_stored_as_none(embedder, tmp_path):
    """A confidence threshold no judgement reaches: every stance abstains, and says what it leaned to."""
    path = tmp_path / "stances.yml"
    path.write_text("min_confidence: 1\n" + TWO_STANCES, encoding="utf-8")
    [judged] = StanceClassifier(load_stances(path), embedder).judge(
        ["Some say learn the math first and learn it well, others that it can wait until a project needs it."]
    )
    assert judged.stance is None and judged.reasons["abstained"] in ("first", "later")
    assert 0 <= judged.confidence < 1


# -- in the knowledge base --------------------------------------------------------------------------


def test_headings_get_no_stance_and_copies_one(db):
    short = list(db.query("select text, stance from passages"))
    assert all(r["stance"] is None for r in short if len(r["text"].split()) < 8)
    by_text: dict[str, set] = {}
    for row in db.query("select text, stance from passages where stance is not null"):
        by_text.setdefault(" ".join(row["text"].lower().split()), set()).add(row["stance"])
    assert by_text and all(len(stances) == 1 for stances in by_text.values())


def test_off_question_passages_take_no_stance(db):
    sourdough = list(
        db.query(
            "select passages.stance, passages.stance_reasons from passages join documents "
            "on documents.id = document_id where url like '%sourdough%'"
        )
    )
    assert sourdough and all(r["stance"] is None and r["stance_reasons"] is None for r in sourdough)


def test_reasons_are_stored_as_json(db):
    passage = next(
        db.query(
            "select stance, stance_confidence, stance_reasons, relevance_reasons from passages "
            "where stance is not null limit 1"
        )
    )
    stance_reasons = json.loads(passage["stance_reasons"])
    assert stance_reasons["by"] in ("cues", "neighbouring cues", "examples") and len(stance_reasons["examples"]) == 3
    relevance_reasons = json.loads(passage["relevance_reasons"])
    assert {"score", "discussion_cues", "math_near_ml", "closest_example", "closest_counterexample"} <= set(
        relevance_reasons
    )
    document = next(db.query("select relevance, relevance_reasons from documents where relevance is not null"))
    assert json.loads(document["relevance_reasons"])["passages"]


def test_search_hits_say_why_in_json_and_html(datasette):
    data = datasette_get(datasette, "/search.json?q=how+much+math&mode=keyword").json()
    hit = next(h for h in data["results"] if h["stances"])
    assert hit["stance_reasons"][0]["stance"] in hit["stances"] and hit["stance_reasons"][0]["confidence"] > 0
    assert hit["relevance_reasons"]["parts"]["score"] == hit["relevance_reasons"]["passage"]
    html = datasette_get(datasette, "/search?q=how+much+math&mode=keyword").text
    assert html.count('<details class="kb-why">') == html.count('class="kb-hit"') > 0
    assert "confidence" in html and "closest example" in html


def test_a_stance_taken_from_the_passages_beside_says_so(datasette, db):
    text = db.execute(
        "select text from passages where json_extract(stance_reasons, '$.by') = 'neighbouring cues' "
        "and id not in (select passage_id from quotes where passage_id is not null) order by id limit 1"
    ).fetchone()[0]
    words = urllib.parse.quote(" ".join(re.findall(r"\w+", text)[:6]))
    hit = next(
        h
        for h in datasette_get(datasette, f"/search.json?q={words}&mode=keyword").json()["results"]
        if h["text"] == text
    )
    [reasons] = [j["reasons"] for j in hit["stance_reasons"] if j["of"] == "passage"]
    assert reasons["by"] == "neighbouring cues" and reasons["neighbour_cues"]
    html = datasette_get(datasette, f"/search?q={words}&mode=keyword").text
    assert "decided by those of the passages beside it" in html


def test_a_persons_statements_count_once_and_compare_lists_them_by_date(datasette, db):
    rows = list(
        db.query(
            "select person_id, kind, lower(trim(text)) as t, count(*) as n from person_statements "
            "group by person_id, kind, t having n > 1"
        )
    )
    assert rows == []  # a republished statement is one row
    every = db.execute("select count(*) from quote_speakers").fetchone()[0]
    distinct = db.execute("select count(*) from person_statements where kind != 'written'").fetchone()[0]
    assert distinct < every  # the sample site republishes an article: its quotations count once
    statements = datasette_get(datasette, "/kb/compare_statements.json?_shape=array").json()
    for person in {s["person"] for s in statements}:
        dates = [s["published"] for s in statements if s["person"] == person and s["published"]]
        assert dates == sorted(dates)
    summary = datasette_get(datasette, "/kb/compare_people.json?_shape=array").json()
    for row in summary:
        assert row["statements"] == sum(
            1 for s in statements if s["person"] == row["person"] and s["stance"] == row["stance"]
        )
    html = datasette_get(datasette, "/compare?people=Andrew+Ng,Yann+LeCun").text
    assert 'class="kb-statement"' in html and '<details class="kb-why">' in html
