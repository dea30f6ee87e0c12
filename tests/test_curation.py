"""Curators: sign in, correct statements, and the corrections outlast re-analysis (through Datasette's app)."""

import asyncio
import json
import re

import pytest
import sqlite_utils

from kb import KbError, KnowledgeBase, storage
from kb.curation import hash_password, verify_password
from kb.web.serve import make_datasette

from .conftest import run_kb

PASSWORD = "a sample password"


class Browser:
    """Datasette's ASGI client with the cookies a browser would keep (its CSRF token, the session)."""

    def __init__(self, db_path):
        self.ds = make_datasette(db_path)
        self.cookies: dict[str, str] = {}
        asyncio.run(self.ds.invoke_startup())

    def _keep(self, response):
        for name, value in response.cookies.items():
            self.cookies[name] = value
        return response

    def get(self, path: str):
        return self._keep(asyncio.run(self.ds.client.get(path, cookies=self.cookies)))

    def token(self, path: str = "/login") -> str:
        return re.search(r'name="csrftoken" value="([^"]+)"', self.get(path).text)[1]

    def post(self, path: str, data: dict, token: str | None = None, with_token: bool = True):
        data = {**data, **({"csrftoken": token or self.token()} if with_token else {})}
        return self._keep(asyncio.run(self.ds.client.post(path, data=data, cookies=self.cookies)))

    def sign_in(self, name: str, password: str = PASSWORD):
        return self.post("/login", {"username": name, "password": password})


@pytest.fixture
def curated(db_copy):
    KnowledgeBase(db_copy).add_curator("ada", PASSWORD)
    db = sqlite_utils.Database(db_copy)
    # The crawl's order (and so the documents' ids) varies from run to run: the quote's own document.
    quote = next(db.query("select id, document_id, quote, stance from quotes where quote like 'Math. Math.%'"))
    return {"db": db_copy, "quote": quote}


def statement(db_path, text_start: str) -> dict:
    db = storage.open_db(db_path)
    try:
        return next(
            db.query(
                "select quotes.*, (select group_concat(people.name) from quote_speakers join people "
                "on people.id = quote_speakers.person_id where quote_id = quotes.id) as speakers "
                "from quotes where quote like ?",
                [text_start + "%"],
            )
        )
    finally:
        db.close()


def test_passwords_are_hashed_with_scrypt_and_checked():
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored) and not verify_password("another one entirely", stored)
    assert not verify_password(PASSWORD, "not a hash") and not verify_password(PASSWORD, None)


def test_a_curator_corrects_a_stance_and_a_speaker_and_marks_a_statement_verified(curated):
    browser = Browser(curated["db"])
    assert browser.sign_in("ada").status_code == 302
    quote_id = curated["quote"]["id"]
    page = browser.get(f"/documents/{curated['quote']['document_id']}").text
    assert 'action="/statements/' in page and "Sign out" in page  # the controls, for a curator
    other = "not needed to start" if curated["quote"]["stance"] != "not needed to start" else "essential foundation"
    for field, value in (("stance", other), ("speaker", "Yann LeCun"), ("verified", "yes")):
        response = browser.post(
            f"/statements/{quote_id}/correct", {"field": field, "value": value, "note": "<script>x</script> checked"}
        )
        assert response.status_code == 302 and response.headers["location"].endswith(f"#q{quote_id}")
    fixed = statement(curated["db"], "Math. Math.")
    assert (fixed["stance"], fixed["speakers"], fixed["verified"], fixed["corrected"]) == (other, "Yann LeCun", 1, 1)
    corrections = list(sqlite_utils.Database(curated["db"]).query("select * from corrections order by id"))
    assert [(c["curator"], c["field"], c["after"]) for c in corrections] == [
        ("ada", "stance", other),
        ("ada", "speaker", "Yann LeCun"),
        ("ada", "verified", "yes"),
    ]
    assert corrections[0]["before"] == curated["quote"]["stance"]
    html = browser.get(f"/documents/{curated['quote']['document_id']}").text
    assert "kb-verified" in html and "kb-corrected" in html
    data = browser.get(f"/documents/{curated['quote']['document_id']}.json").json()
    (entry,) = [s for s in data["statements"] if s["id"] == quote_id]
    assert entry["verified"] == 1 and entry["stance"] == other and entry["reasons"]["by"] == "curator"
    assert entry["reasons"]["note"] == "<script>x</script> checked"  # stored as typed, shown escaped
    assert "<script>x</script>" not in html


def test_corrections_outlast_a_full_analysis(curated):
    kb = KnowledgeBase(curated["db"])
    browser = Browser(curated["db"])
    browser.sign_in("ada")
    quote_id = curated["quote"]["id"]
    browser.post(f"/statements/{quote_id}/correct", {"field": "stance", "value": ""})
    browser.post(f"/statements/{quote_id}/correct", {"field": "verified", "value": "yes"})
    report = kb.analyze(everything=True, progress=False)
    assert "curators' corrections: 2 applied" in report.lines[0]
    again = statement(curated["db"], "Math. Math.")
    assert again["stance"] is None and again["verified"] == 1
    result = run_kb("analyze", "--all", "--db", curated["db"])  # and through the command
    assert result.returncode == 0 and statement(curated["db"], "Math. Math.")["verified"] == 1


def test_a_correction_whose_statement_changed_is_flagged_not_applied(curated):
    browser = Browser(curated["db"])
    browser.sign_in("ada")
    browser.post(f"/statements/{curated['quote']['id']}/correct", {"field": "verified", "value": "yes"})
    db = storage.open_db(curated["db"])
    doc = db["documents"].get(curated["quote"]["document_id"])
    changed = doc["text"].replace("Oh and perhaps some more math", "and then a little statistics")
    storage.save_document(db, {**doc, "text": changed}, [(0, len(changed))])
    db.close()
    report = KnowledgeBase(curated["db"]).analyze(progress=False)
    assert "1 flagged for review" in report.lines[0]
    (correction,) = sqlite_utils.Database(curated["db"]).query("select status from corrections")
    assert correction["status"] == "review"
    assert statement(curated["db"], "Math. Math. and then")["verified"] is None


@pytest.mark.parametrize("case", ["anonymous", "no csrf token", "wrong password", "removed curator", "bad value"])
def test_refused(curated, case):
    browser = Browser(curated["db"])
    path = f"/statements/{curated['quote']['id']}/correct"
    if case == "wrong password":
        response = browser.sign_in("ada", "not the password at all")
        assert response.status_code == 403 and "Wrong name or password" in response.text
        assert "ds_actor" not in browser.cookies or not browser.cookies["ds_actor"]
    elif case == "anonymous":
        token = browser.token()
        assert browser.post(path, {"field": "verified", "value": "yes"}, token).status_code == 403
    elif case == "no csrf token":
        browser.sign_in("ada")
        assert browser.post(path, {"field": "verified", "value": "yes"}, with_token=False).status_code == 403
    elif case == "removed curator":
        browser.sign_in("ada")
        KnowledgeBase(curated["db"]).remove_curator("ada")
        assert browser.post(path, {"field": "verified", "value": "yes"}).status_code == 403
        assert 'action="/statements/' not in browser.get("/documents/1").text
    else:
        browser.sign_in("ada")
        response = browser.post(path, {"field": "stance", "value": "whatever I like"})
        assert response.status_code == 400 and "stance must be one of" in response.text
    assert sqlite_utils.Database(curated["db"])["corrections"].count == 0
    assert statement(curated["db"], "Math. Math.")["verified"] is None


def test_the_command_line_manages_curators(db_copy):
    result = run_kb("curator", "add", "bob", "--db", db_copy, "--password-stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert run_kb("curator", "list", "--db", db_copy).stdout.split() == ["bob"]
    short = run_kb("curator", "add", "eve", "--db", db_copy, "--password-stdin", input="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    bad = run_kb("curator", "add", "<b>eve</b>", "--db", db_copy, "--password-stdin", input=PASSWORD + "\n")
    assert bad.returncode == 2 and "cannot be a curator's name" in bad.stderr
    assert run_kb("curator", "remove", "nobody", "--db", db_copy).returncode == 2
    assert run_kb("curator", "remove", "bob", "--db", db_copy).returncode == 0
    with pytest.raises(KbError):
        KnowledgeBase(db_copy).remove_curator("bob")


def test_password_hashes_never_leave_the_server(curated):
    browser = Browser(curated["db"])
    rows = browser.get("/kb/curators.json?_shape=array").json()
    assert rows == [{"name": "ada", "password_hash": None, "added": rows[0]["added"]}]
    query = browser.get("/kb.json?sql=select+password_hash+from+curators&_shape=array").json()
    assert query == [{"password_hash": None}]
    assert browser.sign_in("ada").status_code == 302  # the sign-in reads it on its own connection


def test_corrections_travel_to_a_fresh_database(curated, crawled_db, tmp_path):
    import shutil

    browser = Browser(curated["db"])
    browser.sign_in("ada")
    quote_id = curated["quote"]["id"]
    browser.post(f"/statements/{quote_id}/correct", {"field": "speaker", "value": "Ada Quill", "note": "sample note"})
    browser.post(f"/statements/{quote_id}/correct", {"field": "verified", "value": "yes"})
    browser.post("/documents/1/correct", {"field": "relevance", "value": "off"})
    browser.post("/people/1/correct", {"field": "description", "value": "Sample description <b>set</b> by a curator"})
    exported = tmp_path / "corrections.yml"
    result = run_kb("corrections", "export", exported, "--db", curated["db"])
    assert result.returncode == 0 and "4 corrections written" in result.stderr
    fresh = tmp_path / "fresh.db"
    shutil.copy(crawled_db, fresh)
    imported = run_kb("corrections", "import", exported, "--db", fresh)
    assert imported.returncode == 0 and "4 corrections added, 0 already here" in imported.stderr
    again = statement(fresh, "Math. Math.")
    assert again["speakers"] == "Ada Quill" and again["verified"] == 1
    db = sqlite_utils.Database(fresh)
    assert db.execute("select relevance from documents where id = 1").fetchone()[0] == 0.0
    assert db.execute("select description from people where id = 1").fetchone()[0].startswith("Sample description")
    assert run_kb("corrections", "import", exported, "--db", fresh).stderr.startswith("0 corrections added, 4 already")
    assert run_kb("corrections", "export", "-", "--db", fresh).stdout == exported.read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        ("corrections: 3\n", ":1: expected a 'corrections:' list"),
        ("corrections:\n  - curator: ada\n    field: stance\n", ":2: a correction names one of 'statement:'"),
        (
            "corrections:\n  - curator: ada\n    created: '2026-01-01T00:00:00Z'\n    field: colour\n"
            "    statement: {document: 'http://x/', hash: h, kind: direct}\n",
            ":4: a statement's field must be one of",
        ),
        (
            "corrections:\n  - curator: ada\n    created: '2026-01-01T00:00:00Z'\n    field: stance\n"
            "    statement: {document: 'http://x/', hash: h, kind: direct, colour: red}\n",
            ":5: unknown key 'colour' in statement",
        ),
        ("corrections:\n  - [not, a, mapping]\n", ":2: each correction must be a mapping"),
    ],
)
def test_a_bad_corrections_file_names_its_line_and_changes_nothing(db_copy, tmp_path, text, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    result = run_kb("corrections", "import", path, "--db", db_copy)
    assert result.returncode == 2 and f"{path}{message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sqlite_utils.Database(db_copy)["corrections"].count == 0


def test_search_and_comparison_can_keep_to_verified_statements(curated):
    browser = Browser(curated["db"])
    quote_id = curated["quote"]["id"]
    everything = browser.get("/search.json?q=math&mode=keyword").json()
    assert everything["total"] > 0 and browser.get("/search.json?q=math&mode=keyword&verified=1").json()["total"] == 0
    browser.sign_in("ada")
    browser.post(f"/statements/{quote_id}/correct", {"field": "verified", "value": "yes"})
    verified = browser.get("/search.json?q=math&mode=keyword&verified=1").json()
    assert verified["verified_only"] and verified["total"] >= 1 and all(h["verified"] for h in verified["results"])
    assert all("Math. Math." in h["text"] for h in verified["results"])
    compared = browser.get("/compare.json?people=Yann+LeCun&verified=1").json()
    statements = [st for c in compared["columns"] for row in c["stances"] for st in row["by_date"]]
    assert [st["quote_id"] for st in statements] == [quote_id]
    assert sum(row["statements"] for c in compared["columns"] for row in c["stances"]) == 1


def test_a_curator_corrects_documents_and_people_and_it_outlasts_analysis(curated):
    browser = Browser(curated["db"])
    browser.sign_in("ada")
    db = sqlite_utils.Database(curated["db"])
    reprint = next(db.query("select id, work_id from documents where url like '%reprint%'"))
    sourdough = next(db.query("select id from documents where url like '%sourdough%'"))["id"]
    assert reprint["work_id"] is not None
    for path, field, value in (
        (f"/documents/{reprint['id']}/correct", "work", "split"),
        (f"/documents/{sourdough}/correct", "relevance", "on"),
        ("/documents/1/correct", "author", "Ada Quill"),
    ):
        response = browser.post(path, {"field": field, "value": value, "note": "checked by hand"})
        assert response.status_code == 302, response.text
    priya = next(db.query("select id from people where name = 'Priya Raman'"))["id"]
    merged = browser.post(f"/people/{priya}/correct", {"field": "merge", "value": "Andrew Ng"})
    assert merged.status_code == 302 and merged.headers["location"] == "/people/1"

    def state() -> dict:
        db = sqlite_utils.Database(curated["db"])
        return {
            "reprint work": db.execute("select work_id from documents where id = ?", [reprint["id"]]).fetchone()[0],
            "sourdough relevance": db.execute("select relevance from documents where id = ?", [sourdough]).fetchone()[
                0
            ],
            "author": db.execute(
                "select people.name from documents join people on people.id = author_id where documents.id = 1"
            ).fetchone()[0],
            "priya": db.execute("select count(*) from people where name = 'Priya Raman'").fetchone()[0],
            "aliases": json.loads(db.execute("select aliases from people where name = 'Andrew Ng'").fetchone()[0]),
        }

    expected = {"reprint work": None, "sourdough relevance": 1.0, "author": "Ada Quill", "priya": 0}
    assert {k: v for k, v in state().items() if k != "aliases"} == expected and "Priya Raman" in state()["aliases"]
    sourdough_hits = browser.get("/search.json?q=sourdough&mode=keyword").json()["total"]
    assert sourdough_hits > 0  # on the question now, so searched by default
    KnowledgeBase(curated["db"]).analyze(everything=True, progress=False)
    after = state()
    assert {k: v for k, v in after.items() if k != "aliases"} == expected and "Priya Raman" in after["aliases"]
    assert "Priya Raman" in browser.get("/kb/corrections.json?_shape=array").text


@pytest.mark.parametrize(
    "path, data, message",
    [
        ("/documents/1/correct", {"field": "relevance", "value": "maybe"}, "relevance must be on or off"),
        ("/documents/1/correct", {"field": "work", "value": "join:1"}, "join takes the id of another"),
        ("/documents/1/correct", {"field": "colour", "value": "red"}, "field must be one of"),
        ("/people/1/correct", {"field": "merge", "value": "Nobody Atall"}, "merge takes the exact name"),
        ("/documents/999999/correct", {"field": "author", "value": "x"}, "there is no document 999999"),
    ],
)
def test_bad_document_and_person_corrections_say_why(curated, path, data, message):
    browser = Browser(curated["db"])
    browser.sign_in("ada")
    response = browser.post(path, data)
    assert response.status_code == 400 and message in response.text
    assert sqlite_utils.Database(curated["db"])["corrections"].count == 0


def test_an_expired_session_may_not_correct(curated):
    from datasette.utils import baseconv

    browser = Browser(curated["db"])
    token = browser.token()
    expired = baseconv.base62.encode(1_000_000_000)  # 2001
    browser.cookies["ds_actor"] = browser.ds.sign({"a": {"id": "ada"}, "e": expired}, "actor")
    response = browser.post(
        f"/statements/{curated['quote']['id']}/correct", {"field": "verified", "value": "yes"}, token
    )
    assert response.status_code == 403
    assert sqlite_utils.Database(curated["db"])["corrections"].count == 0


def test_a_statement_said_to_be_none_stays_gone_and_a_kind_stays_changed(curated):
    browser = Browser(curated["db"])
    browser.sign_in("ada")
    db = sqlite_utils.Database(curated["db"])
    gone = next(db.query("select id, quote from quotes where quote like 'If you cannot derive it%'"))
    # A reported statement of the quote's own page (ids follow the crawl's order; a reprint's copies are
    # statements of their own).
    page = curated["quote"]["document_id"]
    reported = next(
        db.query("select id, quote from quotes where kind = 'indirect' and document_id = ? limit 1", [page])
    )
    assert browser.post(f"/statements/{gone['id']}/correct", {"field": "kind", "value": "none"}).status_code == 302
    assert (
        browser.post(f"/statements/{reported['id']}/correct", {"field": "kind", "value": "direct"}).status_code == 302
    )
    bad = browser.post(f"/statements/{reported['id']}/correct", {"field": "kind", "value": "poem"})
    assert bad.status_code == 400 and "kind must be" in bad.text

    def kinds() -> dict:
        db = sqlite_utils.Database(curated["db"])
        return {
            "gone": db.execute("select count(*) from quotes where quote = ?", [gone["quote"]]).fetchone()[0],
            "reported": db.execute(
                "select kind from quotes where quote = ? and document_id = ?", [reported["quote"], page]
            ).fetchone(),
        }

    assert kinds() == {"gone": 0, "reported": ("direct",)}
    report = KnowledgeBase(curated["db"]).analyze(everything=True, progress=False)
    assert kinds() == {"gone": 0, "reported": ("direct",)} and "flagged for review" not in report.lines[0]
    statuses = [r["status"] for r in sqlite_utils.Database(curated["db"]).query("select status from corrections")]
    assert statuses == ["applied", "applied"]


def test_corrections_hold_after_the_sources_are_crawled_again(curated, sample_site, tmp_path):
    from .conftest import crawl

    browser = Browser(curated["db"])
    browser.sign_in("ada")
    browser.post(f"/statements/{curated['quote']['id']}/correct", {"field": "speaker", "value": "Ada Quill"})
    result = crawl(sample_site.sources_yaml(), curated["db"], tmp_path, embed=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert statement(curated["db"], "Math. Math.")["speakers"] == "Ada Quill"
    assert KnowledgeBase(curated["db"]).analyze(everything=True, progress=False).complete
    assert statement(curated["db"], "Math. Math.")["speakers"] == "Ada Quill"


def test_failed_sign_ins_wait_longer_each_time_until_one_succeeds(curated):
    from kb.web import curate

    curate._failures.pop("mallory", None)
    assert [curate.failed_sign_in("mallory") for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    curate._failures.pop("ada", None)
    browser = Browser(curated["db"])
    assert browser.sign_in("ada", "not the password at all").status_code == 403
    assert curate._failures["ada"][0] == 1
    assert browser.sign_in("ada").status_code == 302 and "ada" not in curate._failures
