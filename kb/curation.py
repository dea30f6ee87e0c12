"""Curation: curators' accounts and their corrections of statements.

Passwords are kept as scrypt hashes (hashlib's, the standard library's
memory-hard key derivation) in the knowledge base's ``curators`` table;
`kb curator add` and `kb curator remove` manage them, and the site's
/login checks them (kb/web/curate.py). A correction is a row of
``corrections`` (kb/storage.py writes and applies them), checked here first:
a known statement, a field that can be corrected, a value that fits it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import secrets

from sqlite_utils import Database

from . import storage

# scrypt's cost: 2**14 rounds of 8-byte blocks, about 16 MB and 50 ms a check on this machine
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_NOTE = 2000
MIN_PASSWORD = 10


class CurationError(ValueError):
    """A curator or correction that cannot be stored; the message says why."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (in constant time)."""
    try:
        scheme, salt, digest = (stored or "").split("$")
        expected = base64.b64decode(digest)
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **SCRYPT)
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(candidate, expected)


def add_curator(db: Database, name: str, password: str) -> None:
    if not NAME.match(name or ""):
        raise CurationError(
            f"{name!r} cannot be a curator's name: letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD:
        raise CurationError(f"the password must be at least {MIN_PASSWORD} characters")
    storage.save_curator(db, name, hash_password(password))


def correct_statement(
    db: Database, curator: str, quote_id: int, field: str, value: str, note: str | None, stances: list[str]
) -> int:
    """Record and apply a curator's correction of one statement's ``field`` (stance: one of
    ``stances`` or empty to clear it; speaker: a person's name, or empty for none; kind: direct,
    indirect or none, not a statement; verified: yes or no); the correction's id. CurationError
    for anything else."""
    if field not in storage.CORRECTABLE_FIELDS:
        raise CurationError(f"field must be one of {', '.join(storage.CORRECTABLE_FIELDS)}")
    value = " ".join((value or "").split())
    if field == "stance" and value and value not in stances:
        raise CurationError(f"stance must be one of {', '.join(stances)} (or empty, for none)")
    if field == "verified" and value not in ("yes", "no"):
        raise CurationError("verified must be yes or no")
    if field == "kind" and value not in storage.CORRECTED_KINDS:
        raise CurationError("kind must be direct (a quotation), indirect (reported) or none (not a statement)")
    if field == "speaker" and len(value) > 200:
        raise CurationError("a speaker's name is at most 200 characters")
    _check_note(note)
    statement = storage.statement_for_correction(db, quote_id)
    if statement is None:
        raise CurationError(f"there is no statement {quote_id}")
    before = {"stance": statement["stance"], "speaker": statement["speaker"], "kind": statement["kind"]}.get(field)
    if field == "verified":
        before = "yes" if statement["verified"] else "no"
    names = {
        "document_url": statement["document_url"],
        "statement_hash": statement["normalized_hash"],
        "statement_kind": statement["kind"],
        "statement_text": statement["quote"],
    }
    return _save(db, curator, "statement", names, field, before, value, note)


def correct_document(db: Database, curator: str, document_id: int, field: str, value: str, note: str | None) -> int:
    """Record and apply a correction of a document: its author (a name, or empty), its relevance
    (on or off the question), or its work (split: not a copy of the others; join:ID: a copy of
    document ID). CurationError for anything else."""
    value = " ".join((value or "").split())
    _check_note(note)
    row = next(
        db.query("select id, url, author_id, relevance, work_id from documents where id = ?", [document_id]), None
    )
    if row is None:
        raise CurationError(f"there is no document {document_id}")
    if field == "author":
        if len(value) > 200:
            raise CurationError("an author's name is at most 200 characters")
        before = next(db.query("select name from people where id = ?", [row["author_id"]]), {}).get("name")
    elif field == "relevance":
        if value not in ("on", "off"):
            raise CurationError("relevance must be on or off (the question)")
        before = None if row["relevance"] is None else f"{row['relevance']:.3f}"
    elif field == "work":
        before = None if row["work_id"] is None else str(row["work_id"])
        if value.startswith("join:"):
            other_id = value.removeprefix("join:")
            other = (
                next(db.query("select url from documents where id = ?", [other_id]), None)
                if other_id.isdigit()
                else None
            )
            if other is None or int(other_id) == document_id:
                raise CurationError("join takes the id of another stored document (join:ID)")
            value = f"join {other['url']}"
        elif value != "split":
            raise CurationError("work must be split or join:ID")
    else:
        raise CurationError(f"field must be one of {', '.join(storage.DOCUMENT_FIELDS_CORRECTED)}")
    return _save(db, curator, "document", {"document_url": row["url"]}, field, before, value, note)


def correct_person(db: Database, curator: str, person_id: int, field: str, value: str, note: str | None) -> int:
    """Record and apply a correction of a person: merge them into another (value: that person's
    name; theirs becomes an alias), or set their description. CurationError for anything else."""
    value = " ".join((value or "").split())
    _check_note(note)
    person = next(db.query("select name, description from people where id = ?", [person_id]), None)
    if person is None:
        raise CurationError(f"there is no person {person_id}")
    if field == "merge":
        into = next(db.query("select name from people where name = ?", [value]), None)
        if into is None or value == person["name"]:
            raise CurationError("merge takes the exact name of another person")
        before = person["name"]
    elif field == "description":
        if len(value) > MAX_NOTE:
            raise CurationError(f"a description is at most {MAX_NOTE} characters")
        before = person["description"]
    else:
        raise CurationError(f"field must be one of {', '.join(storage.PERSON_FIELDS_CORRECTED)}")
    return _save(db, curator, "person", {"person_name": person["name"]}, field, before, value, note)


def _save(
    db: Database, curator: str, target: str, names: dict, field: str, before: str | None, after: str, note: str | None
) -> int:
    """Store and apply a checked correction of ``target`` (``names``: the columns that find it again)."""
    record = {"curator": curator, "target": target, **names, "field": field, "before": before, "after": after}
    return storage.save_correction(db, {**record, "note": (note or "").strip() or None})


def _check_note(note: str | None) -> None:
    if note and len(note) > MAX_NOTE:
        raise CurationError(f"a note is at most {MAX_NOTE} characters")


EXPORT_KEYS = ("curator", "created", "statement", "document", "person", "field", "before", "after", "note")
FIELDS = {
    "statement": storage.CORRECTABLE_FIELDS,
    "document": storage.DOCUMENT_FIELDS_CORRECTED,
    "person": storage.PERSON_FIELDS_CORRECTED,
}
STATEMENT_KEYS = ("document", "hash", "kind", "text")


def export_corrections(db: Database) -> str:
    """Every correction as YAML (`kb corrections export`), oldest first, for version control."""
    import yaml

    def target(c: dict) -> dict:
        if c["target"] == "document":
            return {"document": c["document_url"]}
        if c["target"] == "person":
            return {"person": c["person_name"]}
        statement = {"document": c["document_url"], "hash": c["statement_hash"], "kind": c["statement_kind"]}
        return {"statement": {**statement, "text": c["statement_text"]}}

    entries = [
        {
            "curator": c["curator"],
            "created": c["created"],
            **target(c),
            "field": c["field"],
            "before": c["before"],
            "after": c["after"],
            "note": c["note"],
        }
        for c in storage.all_corrections(db)
    ]
    header = "# Curators' corrections of a math-ml-kb knowledge base: `kb corrections import FILE` applies them.\n"
    return header + yaml.safe_dump({"corrections": entries}, sort_keys=False, allow_unicode=True, width=100)


def read_corrections(path) -> list[dict]:
    """The corrections of an exported file, checked; CurationError naming the file and line."""
    from .yamlfile import Mapping, YamlFileError, read_list_file, unknown_key_message

    class FileError(YamlFileError, CurationError):
        pass

    _, entries = read_list_file(path, "corrections", "correction", EXPORT_KEYS, FileError, min_items=0)
    corrections = []
    for entry, line in entries:
        targets = [key for key in FIELDS if key in entry]
        if len(targets) != 1:
            raise FileError(f"{path}:{line}: a correction names one of 'statement:', 'document:' or 'person:'")
        target = targets[0]
        statement = entry.get("statement") or Mapping()
        if target == "statement":
            if not isinstance(entry["statement"], Mapping):
                raise FileError(f"{path}:{line}: 'statement:' holds document, hash, kind and text")
            for key, key_line in statement.key_lines.items():
                if key not in STATEMENT_KEYS:
                    raise FileError(f"{path}:{key_line}: {unknown_key_message(key, STATEMENT_KEYS, 'statement')}")
            for key in ("document", "hash", "kind"):
                if not isinstance(statement.get(key), str) or not statement[key].strip():
                    raise FileError(f"{path}:{statement.line}: the statement needs '{key}' (text)")
        elif not isinstance(entry[target], str) or not entry[target].strip():
            raise FileError(
                f"{path}:{entry.key_lines[target]}: '{target}' takes a {'URL' if target == 'document' else 'name'}"
            )
        if isinstance(entry.get("created"), (datetime.date, datetime.datetime)):  # written without quotes
            entry["created"] = entry["created"].strftime("%Y-%m-%dT%H:%M:%SZ")
        for key in ("curator", "created", "field"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise FileError(f"{path}:{line}: a correction needs '{key}' (text)")
        if entry["field"] not in FIELDS[target]:
            field_line = entry.key_lines.get("field", line)
            raise FileError(f"{path}:{field_line}: a {target}'s field must be one of {', '.join(FIELDS[target])}")
        for key in ("before", "after", "note"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise FileError(f"{path}:{entry.key_lines.get(key, line)}: '{key}' must be text (or left out)")
        if entry["field"] == "verified" and entry.get("after") not in ("yes", "no"):
            raise FileError(f"{path}:{entry.key_lines.get('after', line)}: verified must be yes or no")
        corrections.append(
            {
                "curator": entry["curator"],
                "created": entry["created"],
                "target": target,
                "document_url": statement.get("document") or (entry["document"] if target == "document" else None),
                "person_name": entry.get("person"),
                "statement_hash": statement.get("hash"),
                "statement_kind": statement.get("kind"),
                "statement_text": statement.get("text"),
                "field": entry["field"],
                "before": entry.get("before"),
                "after": entry.get("after") or "",
                "note": entry.get("note"),
            }
        )
    return corrections
