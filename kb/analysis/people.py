"""people.yml: the curated list of people, and looking names up in it.

Each person has a canonical name, aliases (short forms, spellings without
accents), optionally the first name they sign letters with, a description
and an affiliation. Mistakes in the file are reported with its line.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from ..defaults import default_file
from ..yamlfile import YamlFileError, read_list_file

PERSON_KEYS = ("name", "aliases", "signoff", "pronoun", "description", "affiliation")
PRONOUNS = ("he", "she", "they")
DEFAULT_PEOPLE_FILE = default_file("people.yml")


class PeopleError(YamlFileError):
    """people.yml cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Person:
    name: str
    aliases: tuple[str, ...] = ()
    signoff: str | None = None
    pronoun: str | None = None  # he, she or they; None: unknown, compatible with any
    description: str | None = None
    affiliation: str | None = None
    verified: bool = True
    pseudonym: bool = False  # a discussion thread's handle: never one of people.yml's, whatever its spelling


def fold(name: str) -> str:
    """Case-, accent- and space-insensitive key: 'Joaquín  Quiñonero' == 'joaquin quinonero'."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace(".", " ").split())


def searchable(text: str) -> str:
    """``text`` as names are looked up in it: folded, with every run of punctuation and space one space.
    A name ``fold`` equates with a span of the text (or with its tokens joined by spaces) is in it."""
    if not text.isascii():  # most of the time goes into stripping accents: skip it where there are none
        text = _combining().sub("", unicodedata.normalize("NFKD", text))
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


@cache
def _combining() -> re.Pattern:
    marks = (chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c)))
    return re.compile("[" + "".join(re.escape(mark) for mark in marks) + "]")


def parse_entry(person: Person) -> tuple:
    """What the statements' parser reads of a person (description and affiliation it does not)."""
    return (person.name, tuple(person.aliases), person.signoff, person.pronoun)


def mentions_pattern(names: Iterable[str]) -> re.Pattern | None:
    """A pattern finding any of ``names`` as whole words in a ``searchable`` text; None for no names."""
    words = sorted({searchable(name) for name in names} - {""}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)") if words else None


@dataclass
class Directory:
    """Name lookup over a list of people (canonical names and aliases)."""

    people: list[Person]
    _by_key: dict[str, Person] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for person in self.people:
            for alias in (person.name, *person.aliases):
                self._by_key.setdefault(fold(alias), person)

    @cached_property
    def names_pattern(self) -> str:
        """Regex alternation of every name and alias, longest first ('(?!)' matches nothing)."""
        names = sorted({a for p in self.people for a in (p.name, *p.aliases)}, key=len, reverse=True)
        return "|".join(re.escape(n) for n in names) or "(?!)"

    def find(self, mention: str) -> Person | None:
        return self._by_key.get(fold(mention)) if mention else None

    def by_signoff(self, signoff: str) -> Person | None:
        key = fold(signoff)
        return next((p for p in self.people if p.signoff and fold(p.signoff) == key), None)


def load_people(path: str | Path = DEFAULT_PEOPLE_FILE) -> list[Person]:
    _, entries = read_list_file(path, "people", "person", PERSON_KEYS, PeopleError)
    people, seen = [], {}
    for entry, line in entries:
        person = _person(entry, line, path)
        for alias in (person.name, *person.aliases):
            other = seen.get(fold(alias))
            if other is not None and other[0] != person.name:
                raise PeopleError(f"{path}:{line}: '{alias}' already names {other[0]} (line {other[1]})")
            seen[fold(alias)] = (person.name, line)
        people.append(person)
    return people


def _person(entry, line: int, path) -> Person:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PeopleError(f"{path}:{line}: a person needs a 'name'")
    fields = {}
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise PeopleError(f"{path}:{entry.key_lines.get('aliases', line)}: '{name}': 'aliases' must be a list of names")
    fields = {}
    pronoun = entry.get("pronoun")
    if pronoun is not None and pronoun not in PRONOUNS:
        raise PeopleError(
            f"{path}:{entry.key_lines['pronoun']}: '{name}': 'pronoun' must be one of {', '.join(PRONOUNS)}"
        )
    fields["pronoun"] = pronoun
    for key in ("signoff", "description", "affiliation"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise PeopleError(f"{path}:{entry.key_lines[key]}: '{name}': '{key}' must be text")
        fields[key] = value.strip() if value else None
    return Person(name=name.strip(), aliases=tuple(a.strip() for a in aliases), **fields)
