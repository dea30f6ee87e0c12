"""The reader page (/documents/ID): a stored document read in the knowledge base, with its statements,
anchors, provenance, earlier versions and copies (kb/web/reader.py, through Datasette's real app)."""

import html as html_lib
import re

import sqlite_utils

from kb import storage
from kb.web.reader import reader_html, revision_diffs

from .conftest import datasette_get, make_datasette


def page(datasette, path: str):
    response = datasette_get(datasette, path)
    assert response.status_code == 200, response.text[:500]
    return response


def document_id(db_path, path: str) -> int:
    db = sqlite_utils.Database(db_path)
    return next(db.query("select id from documents where url like ?", [f"%{path}"]))["id"]


def test_the_text_is_escaped_and_marked_with_statements_and_anchors():
    text = "Title <b>here</b>\nShe said “learn <script>x</script> first” and left.\nSecond part, on page 2."
    start = text.index("learn")
    statements = [
        {"id": 7, "kind": "direct", "char_start": start, "char_end": text.index("”"), "stance": "s", "speaker": "Ada"},
        # overlaps the quotation: cannot be a second <mark> across it, so it is listed but not marked
        {"id": 8, "kind": "indirect", "char_start": start + 2, "char_end": len(text), "stance": None, "speaker": None},
    ]
    passages = [
        {"seq": 0, "char_start": 0, "page": 1},
        {"seq": 1, "char_start": text.index("Second"), "page": 2, "seconds": 75, "moment_url": "https://v/?a=1&t=75s"},
    ]
    paragraphs = reader_html(text, passages, statements)
    html = "".join(str(p.html) for p in paragraphs)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;here" in html
    assert html.count("<mark") == 1 and 'id="q7"' in html and 'title="Ada · quotation · s"' in html
    shown = [html_lib.unescape(re.sub(r"<[^>]+>", "", str(p.html))) for p in paragraphs]
    assert shown == [
        "p. 1Title <b>here</b>",
        "She said “learn <script>x</script> first” and left.",
        "p. 21:15Second part, on page 2.",
    ]
    assert 'id="p0"' in html and 'id="p1"' in html
    assert '<a class="kb-time" href="https://v/?a=1&amp;t=75s">1:15</a>' in html


def test_a_statement_across_paragraphs_is_marked_in_each_with_one_anchor():
    text = "First paragraph opens “a long quotation\nthat closes here” and ends."
    statement = {"id": 3, "kind": "direct", "char_start": text.index("a long"), "char_end": text.index("”")}
    paragraphs = reader_html(text, [], [statement])
    assert [str(p.html).count("<mark") for p in paragraphs] == [1, 1]
    assert "".join(str(p.html) for p in paragraphs).count('id="q3"') == 1


def test_turns_and_comments_belong_to_their_paragraphs():
    text = "Intro line.\nAda Quill: derivatives first.\nTomas Berg: why?"
    turn = {"id": 1, "kind": "spoken", "char_start": text.index("Ada"), "char_end": text.index("\nTomas")}
    question = {"id": 2, "kind": "question", "char_start": text.index("Tomas"), "char_end": len(text)}
    paragraphs = reader_html(text, [], [turn, question])
    assert [[s["id"] for s in p.statements] for p in paragraphs] == [[], [1], [2]]
    assert all("<mark" not in str(p.html) for p in paragraphs)


def test_revision_diffs_say_what_changed_newest_first():
    current = {"title": "T2", "text": "one\ntwo changed\nthree"}
    revisions = [
        {"id": 1, "title": "T1", "text": "one\ntwo\nthree", "replaced_at": "2026-01-02"},
        {"id": 0, "title": "T1", "text": "one", "replaced_at": "2026-01-01"},
    ]
    newest, oldest = revision_diffs(current, revisions)
    assert newest["id"] == 1 and newest["title_changed"] and not oldest["title_changed"]
    changes = [(d["kind"], d["line"]) for d in newest["diff"] if d["kind"] in ("added", "removed")]
    assert changes == [("removed", "-two"), ("added", "+two changed")]
    assert [d["line"] for d in oldest["diff"] if d["kind"] == "added"] == ["+two", "+three"]


def test_the_reader_page_shows_the_stored_text_with_every_statement(datasette, crawled_db):
    doc_id = document_id(crawled_db, "/articles/math-first.html")
    db = sqlite_utils.Database(crawled_db)
    quote_ids = [r["id"] for r in db.query("select id from quotes where document_id = ?", [doc_id])]
    html = page(datasette, f"/documents/{doc_id}").text
    assert "Calculus first" in html and 'class="kb-original"' in html
    assert quote_ids and all(f'id="q{q}"' in html or f'href="#q{q}"' in html for q in quote_ids)
    assert all(f'href="#q{q}"' in html for q in quote_ids)  # each listed beside the text
    passages = db.execute("select count(*) from passages where document_id = ?", [doc_id]).fetchone()[0]
    assert len(re.findall(r'id="p\d+"', html)) == passages
    data = page(datasette, f"/documents/{doc_id}.json").json()
    assert data["document"]["id"] == doc_id and {s["id"] for s in data["statements"]} == set(quote_ids)
    assert data["document"]["text"] == db["documents"].get(doc_id)["text"]


def test_search_results_and_person_pages_link_to_the_reader_first(datasette):
    hits = page(datasette, "/search.json?q=linear+algebra&mode=keyword").json()["results"]
    assert hits
    for hit in hits[:5]:
        path, anchor = hit["reader_url"].split("#")
        assert path == f"/documents/{hit['document_id']}" and f'id="{anchor}"' in page(datasette, path).text
        assert hit["link"].startswith(hit["url"])  # the original, second
    person = page(datasette, "/people/1.json").json()
    for statement in person["statements"]:
        path, anchor = statement["reader_url"].split("#")
        assert anchor == f"q{statement['id']}" and f'"#{anchor}"' in page(datasette, path).text
    compared = page(datasette, "/compare.json").json()
    links = [st["reader_url"] for c in compared["columns"] for row in c["stances"] for st in row["by_date"]]
    assert links and all(re.fullmatch(r"/documents/\d+#[pq]\d+", link) for link in links)


def test_a_reprint_lists_its_original_as_a_copy(datasette, crawled_db):
    reprint = document_id(crawled_db, "/reprints/how-much-math-reprint.html")
    original = document_id(crawled_db, "/articles/how-much-math.html")
    data = page(datasette, f"/documents/{reprint}.json").json()
    assert [c["id"] for c in data["copies"]] == [original]
    assert f'href="/documents/{original}"' in page(datasette, f"/documents/{reprint}").text


def test_earlier_versions_are_shown_with_what_changed(db_copy):
    db = storage.open_db(db_copy)
    doc = db["documents"].get(document_id(db_copy, "/articles/math-first.html"))
    changed = doc["text"].replace("Not everyone agrees", "Hardly anyone agrees")
    storage.save_document(db, {**doc, "text": changed}, [(0, len(changed))])
    db.close()
    data = page(make_datasette(db_copy), f"/documents/{doc['id']}.json").json()
    (revision,) = data["revisions"]
    lines = [(d["kind"], d["line"][:21]) for d in revision["diff"] if d["kind"] != "same"]
    assert ("removed", "-Not everyone agrees ") in lines and ("added", "+Hardly anyone agrees") in lines
    html = page(make_datasette(db_copy), f"/documents/{doc['id']}").text
    assert 'class="kb-removed"' in html and "Hardly anyone agrees" in html


def test_bad_document_ids_are_404s(datasette):
    for path in ("/documents/999999", "/documents/abc", "/documents/99999999999999999999", "/documents/-1.json"):
        response = datasette_get(datasette, path)
        assert response.status_code == 404, path
    assert datasette_get(datasette, "/documents/abc.json").json()["ok"] is False
