"""Citations (/cite.bib, /cite.ris, /cite.csl.json) of a document, a statement and a page of results,
each read back with the library made for its format."""

import json

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware
from citeproc.source.json import CiteProcJSON

from kb import storage

from .conftest import datasette_get, make_datasette

HOSTILE_TITLE = "Sample: 100% {braces} & <script>alert(1)</script> _under_ #hash\\back"


def get(datasette, path: str) -> str:
    response = datasette_get(datasette, path)
    assert response.status_code == 200, response.text[:500]
    return response.text


def read_bibtex(text: str) -> list[dict]:
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    return [{f.key: f.value for f in entry.fields} for entry in library.entries]


def read_csl(text: str) -> list:
    source = CiteProcJSON(json.loads(text))
    return [source[key] for key in source]


@pytest.fixture
def hostile_db(db_copy):
    db = storage.open_db(db_copy)
    doc = db.execute("select id from documents where url like '%/math-first.html'").fetchone()[0]
    row = db["documents"].get(doc)
    storage.save_document(db, {**row, "title": HOSTILE_TITLE}, [(0, len(row["text"]))])
    db.close()
    return db_copy, doc


def test_a_document_in_each_format_reads_back_as_stored(hostile_db):
    path, doc_id = hostile_db
    datasette = make_datasette(path)
    url = storage.open_db(path)["documents"].get(doc_id)["url"]
    (bib,) = read_bibtex(get(datasette, f"/cite.bib?document={doc_id}"))
    assert bib["title"] == HOSTILE_TITLE and bib["url"] == url and bib["author"] == "Tomas Berg"
    assert bib["date"] == "2023-09-05" and f"/documents/{doc_id}" in bib["note"]
    (ris,) = rispy.loads(get(datasette, f"/cite.ris?document={doc_id}"))
    assert ris["title"] == HOSTILE_TITLE and ris["urls"] == [url] and ris["type_of_reference"] == "ELEC"
    (csl,) = read_csl(get(datasette, f"/cite.csl.json?document={doc_id}"))
    assert str(csl["title"]) == HOSTILE_TITLE and csl["issued"]["year"] == 2023


def test_a_statement_is_cited_as_its_document_with_who_said_what(datasette, crawled_db):
    db = storage.open_db(crawled_db)
    quote = db.execute("select id, quote from quotes where quote like 'Math. Math.%'").fetchone()
    db.close()
    (ris,) = rispy.loads(get(datasette, f"/cite.ris?statement={quote[0]}"))
    (note,) = ris["notes"]
    assert note.startswith("Yann LeCun") and f"“{quote[1]}”" in note and f"#q{quote[0]}" in note
    (bib,) = read_bibtex(get(datasette, f"/cite.bib?statement={quote[0]}"))
    assert "Yann LeCun" in bib["note"]


def test_a_page_of_results_cites_its_documents_once_in_the_order_found(datasette):
    query = "q=math+learning&mode=hybrid"
    hits = datasette_get(datasette, f"/search.json?{query}").json()["results"]
    order = list(dict.fromkeys(hit["url"] for hit in hits))
    items = json.loads(get(datasette, f"/cite.csl.json?{query}"))
    assert [item["URL"] for item in items] == order
    assert [r["urls"][0] for r in rispy.loads(get(datasette, f"/cite.ris?{query}"))] == order
    assert [e["url"] for e in read_bibtex(get(datasette, f"/cite.bib?{query}"))] == order


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/cite.bib?document=abc", 400, "number"),
        ("/cite.ris?statement=-3", 400, "number"),
        ("/cite.bib?document=999999", 404, "document 999999"),
        ("/cite.csl.json?statement=999999", 404, "statement 999999"),
        ("/cite.bib", 400, "cite document=ID"),
        ("/cite.bib?q=x&mode=fuzzy", 400, "mode must be one of"),
    ],
)
def test_bad_citation_requests_say_why(datasette, path, status, message):
    response = datasette_get(datasette, path)
    assert response.status_code == status and message in response.text


def test_reader_pages_and_results_link_their_citations(datasette):
    html = get(datasette, "/documents/1")
    assert all(f'href="/cite.{style}?document=1"' in html for style in ("bib", "ris", "csl.json"))
    results = get(datasette, "/search?q=linear+algebra&mode=keyword")
    assert 'class="kb-cite"' in results and 'href="/cite.ris?q=linear+algebra&amp;mode=keyword"' in results
