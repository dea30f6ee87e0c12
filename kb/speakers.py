"""Who a speaker mention is: names, surnames, pronouns and descriptors resolved within one document.

kb.quotes finds the words that name a speaker (the subject of a reporting
verb, the name after a dash...); this module decides what they refer to:

- a name in people.yml (any alias) is that person;
- another name is a person only when the evidence says so (the named-entity
  recogniser labels it PERSON, an honorific precedes it, or a relative
  "who" follows it) and it looks like a person's name (two to four
  capitalised words, no organisation words such as "University" or
  "Team"): such a name becomes an unverified person. A single word
  ("Tao", "Mr. Richman", "Firat") is never a new person: it is the person
  of that document with that surname or first name, if there is one;
- pronouns (he, she, his, her) are the nearest earlier person of the
  document whose pronoun fits (people.yml, an honorific, or what an
  earlier pronoun resolved to); I and we are the document's author;
- definite descriptors ("the professor") are the nearest earlier person
  described with that word (in an apposition or a title before the name);
- organisations, publications and things (``the company``, ``The New York
  Post``, ``the report``) keep their mention, with a type, and no person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .people import Directory, Person, fold

PERSON, ORGANISATION, OTHER = "person", "organisation", "other"

HONORIFICS = {
    "mr": "he", "mrs": "she", "ms": "she", "miss": "she", "sir": "he", "dame": "she", "lord": "he", "lady": "she",
    "dr": None, "prof": None, "professor": None, "sen": None, "senator": None, "rep": None, "gov": None,
    "governor": None, "pres": None, "president": None, "gen": None, "general": None, "rev": None, "judge": None,
    "justice": None, "mayor": None, "secretary": None, "minister": None, "chancellor": None, "ambassador": None,
    "chief": None, "executive": None, "ceo": None, "cto": None, "cfo": None, "founder": None, "co-founder": None,
    "chairman": None, "chairwoman": None, "chair": None, "director": None, "lead": None, "manager": None,
    "officer": None, "head": None, "speaker": None, "leader": None, "spokesman": "he", "spokeswoman": "she",
    "spokesperson": None, "commissioner": None, "inspector": None, "detective": None, "sheriff": None,
    "coach": None, "author": None, "editor": None, "correspondent": None, "reporter": None, "analyst": None,
    "economist": None, "researcher": None, "scientist": None, "engineer": None, "attorney": None, "lawyer": None,
    "vice": None, "deputy": None, "senior": None, "former": None, "candidate": None, "nominee": None,
    "congressman": "he", "congresswoman": "she", "king": "he", "queen": "she", "prince": "he", "princess": "she",
    "grandmaster": None, "st": None, "saint": None, "fr": None, "father": "he", "sister": "she", "brother": "he",
}
# Words that make a capitalised phrase an organisation, a publication or a thing, never a person.
ORGANISATION_WORDS = {
    "university", "college", "school", "institute", "institution", "lab", "labs", "laboratory", "partners", "inc",
    "corp", "corporation", "company", "co", "ltd", "llc", "group", "foundation", "journal", "times", "news", "post",
    "review", "magazine", "press", "media", "network", "networks", "agency", "bank", "fund", "capital", "ventures",
    "council", "committee", "department", "ministry", "office", "administration", "association", "society",
    "team", "staff", "editors", "editorial", "board", "contributor", "contributors", "admin", "consultants",
    "consulting", "solutions", "services", "technologies", "technology", "systems", "academy", "centre", "center",
    "club", "union", "party", "campaign", "coalition", "alliance", "organization", "organisation", "commission",
    "court", "congress", "senate", "parliament", "government", "state", "states", "city", "county", "republic",
    "nation", "nations", "street", "road", "avenue", "learning", "intelligence", "research", "science", "data",
    "analytics", "ai", "ml", "blog", "podcast", "show", "channel", "tv", "radio", "daily", "weekly", "herald",
    "tribune", "gazette", "guardian", "telegraph", "wire", "reuters", "law", "theorem", "principle", "effect",
    "algebra", "calculus", "statistics", "physics", "mathematics", "course", "specialization", "program",
    "programme", "series", "edition", "chapter", "book", "paper", "article", "code", "library", "framework",
    "model", "models", "machine", "deep", "neural", "vision", "language", "looms", "disruption", "ai's",
}
# Common nouns for groups and organisations that speak ("the company said").
ORGANISATION_NOUNS = {
    "company", "firm", "website", "site", "newspaper", "paper", "magazine", "network", "channel", "agency",
    "campaign", "committee", "department", "ministry", "government", "administration", "office", "organization",
    "organisation", "group", "university", "school", "institute", "council", "board", "court", "commission",
    "party", "team", "union", "bank", "startup", "publisher", "outlet", "publication", "lab", "embassy",
    "police", "military", "army", "navy", "service", "parliament", "congress", "senate", "house", "state",
    "regime", "country", "city", "county", "foundation", "association", "coalition", "alliance", "bootcamp",
    "platform", "academy", "college", "network", "studio", "journal", "magazine", "blog", "podcast",
}
# Common nouns for people, which a definite descriptor ("the professor") may refer back with.
PERSON_NOUNS = {
    "professor", "senator", "governor", "president", "candidate", "nominee", "spokesman", "spokeswoman",
    "spokesperson", "official", "officials", "source", "sources", "expert", "experts", "analyst", "analysts",
    "researcher", "researchers", "scientist", "scientists", "engineer", "engineers", "author", "authors",
    "writer", "economist", "mayor", "secretary", "minister", "director", "executive", "founder", "ceo", "user",
    "users", "commenter", "developer", "developers", "teacher", "student", "students", "friend", "man", "woman",
    "people", "person", "lawmaker", "lawmakers", "congressman", "congresswoman", "representative", "aide",
    "aides", "adviser", "advisers", "advisor", "advisors", "leader", "leaders", "critic", "critics", "voter",
    "voters", "supporter", "supporters", "resident", "residents", "doctor", "lawyer", "attorney", "judge",
    "reporter", "journalist", "host", "guest", "speaker", "manager", "lead", "chairman", "chairwoman", "head",
    "pair", "duo", "two", "mathematician", "statistician", "practitioner", "practitioners", "instructor",
    "lecturer", "educator", "blogger", "founder", "cofounder", "co-founder", "member", "members", "colleague",
    "employee", "employees", "worker", "workers", "officer", "officers", "agent", "agents", "investigator",
    "prosecutor", "prosecutors", "democrat", "democrats", "republican", "republicans", "conservative",
    "conservatives", "liberal", "liberals", "activist", "activists", "economists", "pollster", "pollsters",
    "mother", "father", "daughter", "son", "wife", "husband", "sister", "brother", "parent", "parents",
    "family", "child", "children", "boss",
}
PARTICLES = {"de", "van", "von", "der", "den", "da", "di", "du", "dos", "del", "della", "la", "le", "bin", "al",
             "el", "ibn", "ter", "st.", "mac", "y"}
GENDERED = {"he": "he", "him": "he", "his": "he", "himself": "he", "she": "she", "her": "she", "hers": "she",
            "herself": "she"}
FIRST_PERSON = {"i", "me", "my", "we", "us", "our"}
# How far back (characters) a pronoun or descriptor looks for the person it refers to.
LOOKBACK = 3000

_NAME_WORD = re.compile(r"^(?:[A-Z][a-z]?\.|[A-Z](?:[a-zà-öø-ÿ'’\-]|[A-Z](?=[a-z]))+[a-zà-öø-ÿ]|[A-Z][a-zà-öø-ÿ]+(?:[-'’][A-Z]?[a-zà-öø-ÿ]+)*)$")


@dataclass(frozen=True)
class Speaker:
    """The words that name who speaks, what kind of speaker that is, and the people they resolve to."""

    mention: str
    start: int
    end: int
    type: str = OTHER  # person, organisation or other
    people: tuple[Person, ...] = ()


def strip_title(name: str) -> str:
    """'Dr. Jane Smith' -> 'Jane Smith'; 'Sen. Bernie Sanders (Vt.)' -> 'Bernie Sanders'; possessives dropped."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name.strip())
    name = re.sub(r"[’']s$", "", name).strip(" ,.;:")
    words = name.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1].rstrip(".").lower() in ("jr", "sr", "ii", "iii", "phd", "md"):
        words.pop()
    while len(words) > 3 and words[0].lower() not in PARTICLES:  # "Kaggle Grandmaster Bojan Tunguz"
        words.pop(0)
    return " ".join(words).strip(" ,")


def honorific_gender(words: list[str]) -> str | None:
    for word in words:
        key = word.lower().rstrip(".")
        if key in HONORIFICS:
            if HONORIFICS[key]:
                return HONORIFICS[key]
        else:
            break
    return None


def looks_like_name(name: str, words_at_least: int = 2) -> bool:
    """Two to four capitalised words (particles and initials allowed), no organisation words, no digits."""
    words = name.split()
    if not words_at_least <= len(words) <= 4 or any(c.isdigit() for c in name):
        return False
    if any(w.lower().strip(".,’'") in ORGANISATION_WORDS for w in words):
        return False
    named = [w for w in words if w.lower() not in PARTICLES]
    if not named or not all(_NAME_WORD.match(w) for w in named):
        return False
    return not all(len(w.rstrip(".")) == 1 for w in named)  # "J. K." alone is not a name


@dataclass
class _Known:
    person: Person
    gender: str | None
    descriptors: set[str] = field(default_factory=set)


class DocumentPeople:
    """The people one document names, in order of mention, for resolving later mentions.

    ``note`` records a mention (a name the recogniser found, a speaker, the
    author); ``person_for_name``, ``pronoun`` and ``descriptor`` resolve.
    """

    def __init__(self, directory: Directory, author: Person | None = None):
        self.directory = directory
        self.author = author
        self.known: dict[str, _Known] = {}  # folded canonical name -> what we know
        self.mentions: list[tuple[int, str]] = []  # (offset, folded canonical name), by offset
        self.groups: list[tuple[int, tuple[Person, ...]]] = []  # people named together ("X and Y"), by offset
        self.full_names: dict[str, str] = {}  # last word -> a full name written in the text (not a person yet)
        if author is not None:
            self._know(author)

    def _know(self, person: Person, gender: str | None = None) -> _Known:
        key = fold(person.name)
        known = self.known.get(key)
        if known is None:
            known = self.known[key] = _Known(person, person.pronoun or gender)
        elif known.gender is None:
            known.gender = gender
        return known

    def note(self, person: Person, start: int, gender: str | None = None, descriptors: set[str] = frozenset()) -> None:
        known = self._know(person, gender)
        known.descriptors |= set(descriptors)
        self.mentions.append((start, fold(person.name)))
        self.mentions.sort()

    def note_full_names(self, text: str) -> None:
        """Names written out anywhere in the text, parsed or not ("Rolf Ekberg runs the course"), so that a
        later "Mr. Ekberg" said something can be Rolf Ekberg. They are never people by themselves."""
        for m in re.finditer(r"(?<![\w’'])[A-Z][a-zà-öø-ÿ’'\-]+(?: [A-Z][a-zà-öø-ÿ’'\-]+){1,2}(?![\w’'])", text):
            if looks_like_name(m.group()):
                self.full_names.setdefault(fold(m.group()).split()[-1], m.group())

    def note_group(self, people: tuple[Person, ...], start: int) -> None:
        if len(people) > 1 and (start, people) not in self.groups:
            self.groups.append((start, people))
            self.groups.sort(key=lambda g: g[0])

    def group(self, before: int) -> tuple[Person, ...]:
        """The people last named together before ``before``: what "they" and "the pair" refer to."""
        for offset, people in reversed(self.groups):
            if before - LOOKBACK <= offset < before:
                return people
        return ()

    def person_for_name(self, text: str, evidence: bool) -> Person | None:
        """The person a name refers to; a new unverified person only with ``evidence`` and a full name."""
        name = strip_title(text)
        if not name:
            return None
        person = self.directory.find(name)
        if person:
            return person
        key = fold(name)
        if key in self.known:
            return self.known[key].person
        words = key.split()
        if len(words) == 1:
            found = self._by_part(words[0])
            full = strip_title(self.full_names.get(words[0], ""))
            if found is None and evidence and len(full.split()) > 1:  # "Mr. Ekberg" after "Rolf Ekberg runs …"
                known = self.directory.find(full) or (self.known[fold(full)].person if fold(full) in self.known else None)
                return known or Person(full, verified=False)
            return found
        if evidence and looks_like_name(name):
            earlier = self._by_part(words[-1], last_only=True)
            if earlier is not None and fold(earlier.name).split()[0][0] == words[0][0]:
                return earlier  # "Joe Biden" after "Joseph R. Biden"
            return Person(name, verified=False)
        return None

    def _by_part(self, word: str, last_only: bool = False) -> Person | None:
        """The person of this document whose surname (or, failing that, unique first name) is ``word``."""
        person = self.directory.find(word)
        if person is not None:
            return person
        by_last = [k.person for key, k in self.known.items() if len(key.split()) > 1 and key.split()[-1] == word]
        if by_last:
            return self._latest(by_last)
        if last_only:
            return None
        by_first = [k.person for key, k in self.known.items() if len(key.split()) > 1 and key.split()[0] == word]
        return by_first[0] if len(by_first) == 1 else None

    def _latest(self, people: list[Person]) -> Person:
        order = {key: i for i, (_, key) in enumerate(self.mentions)}
        return max(people, key=lambda p: order.get(fold(p.name), -1))

    def pronoun(self, word: str, before: int) -> Person | None:
        """The nearest earlier person a pronoun fits; I/we are the author."""
        word = word.lower()
        if word in FIRST_PERSON:
            return self.author
        gender = GENDERED.get(word)
        if gender is None:
            if word in ("they", "them", "their"):
                return self._nearest(before, lambda k: k.gender == "they")
            return None
        found = self._nearest(before, lambda k: k.gender in (gender, None))
        if found is not None:
            known = self.known[fold(found.name)]
            known.gender = known.gender or gender  # later pronouns of the other gender look further back
        return found

    def descriptor(self, noun: str, before: int) -> Person | None:
        """The nearest earlier person described as ``noun`` ("the professor")."""
        return self._nearest(before, lambda k: noun.lower() in k.descriptors)

    def _nearest(self, before: int, fits) -> Person | None:
        for offset, key in reversed(self.mentions):
            if offset >= before:
                continue
            if offset < before - LOOKBACK:
                break
            if fits(self.known[key]):
                return self.known[key].person
        return None
