"""Citations of stored documents and statements: CSL-JSON, BibTeX (bibtexparser) and RIS (rispy).

A citation is first a CSL-JSON item (the format reference managers and
citeproc read); BibTeX and RIS are written from it by the libraries made for
them, so escaping is theirs: crawled titles with braces, percent signs or
line breaks stay one field. A statement is cited as the document it was
found in, with a note of who said what and a link to it in the reader.
"""

from __future__ import annotations

import re
from datetime import date

FORMATS = {"bib": "application/x-bibtex", "ris": "application/x-research-info-systems", "csl.json": "application/json"}


def document_item(doc: dict, stored_copy: str, note: str | None = None, key: str | None = None) -> dict:
    """The CSL-JSON item for a stored document (a row of documents): its original URL, and in the
    note what is cited in it (``note``) and where the knowledge base keeps it (``stored_copy``,
    the reader page at the passage or statement)."""
    item = {
        "id": key or f"kb-document-{doc['id']}",
        "type": "webpage",
        "title": doc.get("title") or doc["url"],
        "URL": doc["url"],
    }
    if doc.get("author"):
        item["author"] = [{"literal": name} for name in _authors(doc["author"])]
    if doc.get("site_name"):
        item["container-title"] = doc["site_name"]
    if parts := _date_parts(doc.get("published")):
        item["issued"] = {"date-parts": [parts]}
    if parts := _date_parts(doc.get("last_fetched")):
        item["accessed"] = {"date-parts": [parts]}
    item["note"] = " ".join(n for n in (note, f"Stored copy: {stored_copy}") if n)
    return item


def statement_item(statement: dict, doc: dict, stored_copy: str) -> dict:
    """A statement (a row of quotes, with ``speaker`` its speakers' names) cited as the document
    it is in, the note saying who said what."""
    kind = {"direct": "quoted", "indirect": "reported", "spoken": "said", "comment": "commented", "question": "asked"}
    who = statement.get("speaker") or "unattributed"
    note = f"{who}, {kind.get(statement['kind'], statement['kind'])}: “{' '.join(statement['quote'].split())}”"
    return document_item(doc, stored_copy, note=note, key=f"kb-statement-{statement['id']}")


def to_bibtex(items: list[dict]) -> str:
    """@online entries (biblatex), text fields LaTeX-encoded, URLs verbatim."""
    import bibtexparser
    from bibtexparser.model import Entry, Field
    from pylatexenc.latexencode import unicode_to_latex

    library = bibtexparser.Library()
    for item in items:
        fields = {
            "title": item["title"],
            "author": " and ".join(a["literal"] for a in item.get("author", [])),
            "organization": item.get("container-title"),
            "date": _iso(item.get("issued")),
            "urldate": _iso(item.get("accessed")),
            "note": item.get("note"),
        }
        encoded = [
            Field(name, unicode_to_latex(" ".join(value.split()), non_ascii_only=False))
            for name, value in fields.items()
            if value
        ]
        encoded.append(Field("url", _verbatim_url(item["URL"])))  # the writer encloses each value in braces
        library.add(Entry("online", re.sub(r"[^A-Za-z0-9]", "", item["id"]), encoded))
    return bibtexparser.write_string(library)


def to_ris(items: list[dict]) -> str:
    """ELEC records; every value on one line, as RIS requires."""
    import rispy

    records = []
    for item in items:
        record = {
            "type_of_reference": "ELEC",
            "id": item["id"],
            "title": _line(item["title"]),
            "urls": [item["URL"]],
        }
        if item.get("author"):
            record["authors"] = [_line(a["literal"]) for a in item["author"]]
        if item.get("container-title"):
            record["publisher"] = _line(item["container-title"])
        if issued := _iso(item.get("issued")):
            record["year"], record["date"] = issued[:4], issued.replace("-", "/")
        if accessed := _iso(item.get("accessed")):
            record["access_date"] = accessed.replace("-", "/")
        if item.get("note"):
            record["notes"] = [_line(item["note"])]
        records.append(record)

    class PlainRisWriter(rispy.RisWriter):
        def set_header(self, count: int) -> str:
            return ""  # rispy numbers records ("1.") by default; RIS itself has no such line

    return rispy.dumps(records, implementation=PlainRisWriter)


def _authors(author: str) -> list[str]:
    names = re.split(r"\s*(?:;|,|&|\band\b)\s*", author.strip())
    return [name for name in names if name] or [author.strip()]


def _date_parts(value: str | None) -> list[int] | None:
    """[year, month, day] of a stored date or time, as far as it goes; None when it is not one."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value or "")
    if not match:
        return None
    parts = [int(p) for p in match.groups() if p]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return None
    return parts


def _iso(csl_date: dict | None) -> str | None:
    if not csl_date:
        return None
    return "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(csl_date["date-parts"][0]))


def _line(text: str) -> str:
    return " ".join(str(text).split())


def _verbatim_url(url: str) -> str:
    """A URL safe inside a BibTeX brace-delimited value: braces and backslashes percent-encoded."""
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
