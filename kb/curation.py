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
    ``stances`` or empty to clear it; speaker: a person's name, or empty for none; verified: yes
    or no); the correction's id. CurationError for anything else."""
    if field not in storage.CORRECTABLE_FIELDS:
        raise CurationError(f"field must be one of {', '.join(storage.CORRECTABLE_FIELDS)}")
    value = " ".join((value or "").split())
    if field == "stance" and value and value not in stances:
        raise CurationError(f"stance must be one of {', '.join(stances)} (or empty, for none)")
    if field == "verified" and value not in ("yes", "no"):
        raise CurationError("verified must be yes or no")
    if field == "speaker" and len(value) > 200:
        raise CurationError("a speaker's name is at most 200 characters")
    if note and len(note) > MAX_NOTE:
        raise CurationError(f"a note is at most {MAX_NOTE} characters")
    statement = storage.statement_for_correction(db, quote_id)
    if statement is None:
        raise CurationError(f"there is no statement {quote_id}")
    before = {"stance": statement["stance"], "speaker": statement["speaker"]}.get(field)
    if field == "verified":
        before = "yes" if statement["verified"] else "no"
    return storage.save_correction(
        db,
        {
            "curator": curator,
            "target": "statement",
            "document_url": statement["document_url"],
            "statement_hash": statement["normalized_hash"],
            "statement_kind": statement["kind"],
            "statement_text": statement["quote"],
            "field": field,
            "before": before,
            "after": value,
            "note": (note or "").strip() or None,
        },
    )
