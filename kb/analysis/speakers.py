"""Who a speaker mention is: names, surnames, pronouns and descriptors resolved within one document.

kb.analysis.quotes finds the words that name a speaker (the subject of a reporting
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
from collections import Counter
from dataclasses import dataclass, field

from .cues import GROUP_WORDS, conjuncts, entity_of, last_run
from .people import Directory, Person, fold
from .textblocks import title_case

PERSON, ORGANISATION, OTHER = "person", "organisation", "other"

HONORIFICS = {
    "mr": "he",
    "mrs": "she",
    "ms": "she",
    "miss": "she",
    "sir": "he",
    "dame": "she",
    "lord": "he",
    "lady": "she",
    "dr": None,
    "prof": None,
    "professor": None,
    "sen": None,
    "senator": None,
    "rep": None,
    "gov": None,
    "governor": None,
    "pres": None,
    "president": None,
    "gen": None,
    "general": None,
    "rev": None,
    "judge": None,
    "justice": None,
    "mayor": None,
    "secretary": None,
    "minister": None,
    "chancellor": None,
    "ambassador": None,
    "chief": None,
    "executive": None,
    "ceo": None,
    "cto": None,
    "cfo": None,
    "founder": None,
    "co-founder": None,
    "chairman": None,
    "chairwoman": None,
    "chair": None,
    "director": None,
    "lead": None,
    "manager": None,
    "officer": None,
    "head": None,
    "speaker": None,
    "leader": None,
    "spokesman": "he",
    "spokeswoman": "she",
    "spokesperson": None,
    "commissioner": None,
    "inspector": None,
    "detective": None,
    "sheriff": None,
    "coach": None,
    "author": None,
    "editor": None,
    "correspondent": None,
    "reporter": None,
    "analyst": None,
    "economist": None,
    "researcher": None,
    "scientist": None,
    "engineer": None,
    "attorney": None,
    "lawyer": None,
    "vice": None,
    "deputy": None,
    "senior": None,
    "former": None,
    "candidate": None,
    "nominee": None,
    "congressman": "he",
    "congresswoman": "she",
    "king": "he",
    "queen": "she",
    "prince": "he",
    "princess": "she",
    "grandmaster": None,
    "st": None,
    "saint": None,
    "fr": None,
    "father": "he",
    "sister": "she",
    "brother": "he",
}
# Words that make a capitalised phrase an organisation, a publication or a thing, never a person.
ORGANISATION_WORDS = {
    "university",
    "college",
    "school",
    "institute",
    "institution",
    "lab",
    "labs",
    "laboratory",
    "partners",
    "inc",
    "corp",
    "corporation",
    "company",
    "co",
    "ltd",
    "llc",
    "group",
    "foundation",
    "journal",
    "times",
    "news",
    "post",
    "review",
    "magazine",
    "press",
    "media",
    "network",
    "networks",
    "agency",
    "bank",
    "fund",
    "capital",
    "ventures",
    "council",
    "committee",
    "department",
    "ministry",
    "office",
    "administration",
    "association",
    "society",
    "team",
    "staff",
    "editors",
    "editorial",
    "board",
    "contributor",
    "contributors",
    "admin",
    "consultants",
    "consulting",
    "solutions",
    "services",
    "technologies",
    "technology",
    "systems",
    "academy",
    "centre",
    "center",
    "club",
    "union",
    "party",
    "campaign",
    "coalition",
    "alliance",
    "organization",
    "organisation",
    "commission",
    "court",
    "congress",
    "senate",
    "parliament",
    "government",
    "state",
    "states",
    "city",
    "county",
    "republic",
    "nation",
    "nations",
    "street",
    "road",
    "avenue",
    "learning",
    "intelligence",
    "research",
    "science",
    "data",
    "analytics",
    "ai",
    "ml",
    "blog",
    "podcast",
    "show",
    "channel",
    "tv",
    "radio",
    "daily",
    "weekly",
    "herald",
    "tribune",
    "gazette",
    "guardian",
    "telegraph",
    "wire",
    "reuters",
    "law",
    "theorem",
    "principle",
    "effect",
    "algebra",
    "calculus",
    "statistics",
    "physics",
    "mathematics",
    "course",
    "specialization",
    "program",
    "programme",
    "series",
    "edition",
    "chapter",
    "book",
    "paper",
    "article",
    "code",
    "library",
    "framework",
    "model",
    "models",
    "machine",
    "deep",
    "neural",
    "vision",
    "language",
    "looms",
    "disruption",
    "ai's",
}
# Common nouns for groups and organisations that speak ("the company said").
ORGANISATION_NOUNS = {
    "company",
    "firm",
    "website",
    "site",
    "newspaper",
    "paper",
    "magazine",
    "network",
    "channel",
    "agency",
    "campaign",
    "committee",
    "department",
    "ministry",
    "government",
    "administration",
    "office",
    "organization",
    "organisation",
    "group",
    "university",
    "school",
    "institute",
    "council",
    "board",
    "court",
    "commission",
    "party",
    "team",
    "union",
    "bank",
    "startup",
    "publisher",
    "outlet",
    "publication",
    "lab",
    "embassy",
    "police",
    "military",
    "army",
    "navy",
    "service",
    "parliament",
    "congress",
    "senate",
    "house",
    "state",
    "regime",
    "country",
    "city",
    "county",
    "foundation",
    "association",
    "coalition",
    "alliance",
    "bootcamp",
    "platform",
    "academy",
    "college",
    "network",
    "studio",
    "journal",
    "magazine",
    "blog",
    "podcast",
}
# Common nouns for people, which a definite descriptor ("the professor") may refer back with.
PERSON_NOUNS = {
    "professor",
    "senator",
    "governor",
    "president",
    "candidate",
    "nominee",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "official",
    "officials",
    "source",
    "sources",
    "expert",
    "experts",
    "analyst",
    "analysts",
    "researcher",
    "researchers",
    "scientist",
    "scientists",
    "engineer",
    "engineers",
    "author",
    "authors",
    "writer",
    "economist",
    "mayor",
    "secretary",
    "minister",
    "director",
    "executive",
    "founder",
    "ceo",
    "user",
    "users",
    "commenter",
    "developer",
    "developers",
    "teacher",
    "student",
    "students",
    "friend",
    "man",
    "woman",
    "people",
    "person",
    "lawmaker",
    "lawmakers",
    "congressman",
    "congresswoman",
    "representative",
    "aide",
    "aides",
    "adviser",
    "advisers",
    "advisor",
    "advisors",
    "leader",
    "leaders",
    "critic",
    "critics",
    "voter",
    "voters",
    "supporter",
    "supporters",
    "resident",
    "residents",
    "doctor",
    "lawyer",
    "attorney",
    "judge",
    "reporter",
    "journalist",
    "host",
    "guest",
    "speaker",
    "manager",
    "lead",
    "chairman",
    "chairwoman",
    "head",
    "pair",
    "duo",
    "two",
    "mathematician",
    "statistician",
    "practitioner",
    "practitioners",
    "instructor",
    "lecturer",
    "educator",
    "blogger",
    "founder",
    "cofounder",
    "co-founder",
    "member",
    "members",
    "colleague",
    "employee",
    "employees",
    "worker",
    "workers",
    "officer",
    "officers",
    "agent",
    "agents",
    "investigator",
    "prosecutor",
    "prosecutors",
    "democrat",
    "democrats",
    "republican",
    "republicans",
    "conservative",
    "conservatives",
    "liberal",
    "liberals",
    "activist",
    "activists",
    "economists",
    "pollster",
    "pollsters",
    "mother",
    "father",
    "daughter",
    "son",
    "wife",
    "husband",
    "sister",
    "brother",
    "parent",
    "parents",
    "family",
    "child",
    "children",
    "boss",
}
PARTICLES = {
    "de",
    "van",
    "von",
    "der",
    "den",
    "da",
    "di",
    "du",
    "dos",
    "del",
    "della",
    "la",
    "le",
    "bin",
    "al",
    "el",
    "ibn",
    "ter",
    "st.",
    "mac",
    "y",
}
GENDERED = {
    "he": "he",
    "him": "he",
    "his": "he",
    "himself": "he",
    "she": "she",
    "her": "she",
    "hers": "she",
    "herself": "she",
}
FIRST_PERSON = {"i", "me", "my", "we", "us", "our"}
# How far back (characters) a pronoun or descriptor looks for the person it refers to.
LOOKBACK = 3000
# Speakers whose short quoted words are their own terms or examples, not someone's statement.
GENERIC_SPEAKERS = {"i", "we", "you", "it", "this", "that", "they", "one", "he", "she", "people", "someone"}
_NAMED_ENTITY_ORG = {"ORG", "NORP", "GPE", "FAC", "LOC", "PRODUCT", "WORK_OF_ART", "LAW", "EVENT"}

_NAME_WORD = re.compile(
    r"^(?:[A-Z][a-z]?\.|[A-Z](?:[a-zà-öø-ÿ'’\-]|[A-Z](?=[a-z]))+[a-zà-öø-ÿ]|[A-Z][a-zà-öø-ÿ]+(?:[-'’][A-Z]?[a-zà-öø-ÿ]+)*)$"
)


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
                known = self.directory.find(full) or (
                    self.known[fold(full)].person if fold(full) in self.known else None
                )
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


class MentionResolver:
    """Who the speaker mentions of a parsed document are (a part of kb.analysis.quotes' _Document, whose parse,
    ``people`` (a DocumentPeople), ``directory`` and ``labels`` it reads)."""

    def _note_people(self) -> None:
        """Every person the document names where the parse (or people.yml) says so, for later pronouns;
        how the recogniser labels each name across the document; names written out anywhere."""
        self.people.note_full_names(self.text)
        if self.directory.people:
            for m in re.finditer(r"(?<!\w)(?:" + self.directory.names_pattern + r")(?!\w)", self.text):
                person = self.directory.find(m.group())
                if person:
                    self.people.note(person, m.start())
        for base, doc in self.parsed:
            headline = title_case(
                doc.text
            )  # in "Google AI CEO Wants Students To…" the recogniser sees names everywhere
            for ent in doc.ents:
                for word in fold(strip_title(ent.text)).split()[-1:]:
                    self.labels.setdefault(word, Counter())[ent.label_ == "PERSON"] += 1
                if ent.label_ != "PERSON":
                    continue
                person = self.people.person_for_name(ent.text, evidence=not headline)
                if person is not None:
                    words = [t.text for t in doc[max(ent.start - 2, 0) : ent.end]]
                    self.people.note(
                        person, base + ent.start_char, honorific_gender(words), self._descriptors(ent.root)
                    )
            for token in doc:  # people named together, "Yann LeCun and Joaquin Quiñonero Candela", for "the pair"
                if token.tag_ == "NNP" and token.dep_ != "conj" and token.conjuncts:
                    together = [
                        self.people.person_for_name(self._entity_name(c), evidence=not headline)
                        for c in conjuncts(token)
                    ]
                    self.people.note_group(tuple(dict.fromkeys(p for p in together if p)), base + token.idx)

    def _entity_name(self, token) -> str:
        entity = entity_of(token)
        if entity is not None and entity.label_ == "PERSON":
            return entity.text
        return " ".join(
            t.text for t in last_run([t for t in token.subtree if t.tag_ in ("NNP", "NNPS") and t.i <= token.i], token)
        )

    def _descriptors(self, root) -> set[str]:
        """Nouns that describe a named person: 'the professor' (apposition) or 'math professor Paulos' (title)."""
        nouns = {t.lower_ for t in root.lefts if t.dep_ == "compound" and t.tag_ in ("NN", "NNS")}
        nouns |= {t.lower_ for t in root.children if t.dep_ == "appos" and t.tag_ in ("NN", "NNS")}
        if root.dep_ == "appos" and root.head.tag_ in ("NN", "NNS"):
            nouns.add(root.head.lower_)
        return nouns

    # -- direct quotations ---------------------------------------------------------------------------

    def _speaker(self, heads: list, at: int, relative_pronoun: bool = True) -> Speaker:
        """The speaker headed by ``heads`` (coordinated subjects): the mention's span, type and people.

        A relative pronoun ("Cruz, who refused to …") is the mention of reported speech (the clause's
        own subject); a quotation's mention is its antecedent, the name a reader sees as the speaker.
        """
        if not relative_pronoun:
            heads = [h.head.head if h.tag_ in ("WP", "WDT") and h.head.dep_ == "relcl" else h for h in heads]
        parts = [part for head in heads for part in self._speaker_parts(head, at)]
        start, end = min(p[0] for p in parts), max(p[1] for p in parts)
        people = tuple(dict.fromkeys(p[3] for p in parts if p[3] is not None))
        kinds = [p[2] for p in parts]
        kind = PERSON if PERSON in kinds else ORGANISATION if ORGANISATION in kinds else OTHER
        for person in people:
            self.people.note(person, start)
        self.people.note_group(people, start)
        return Speaker(self.text[start:end], start, end, kind, people)

    def _speaker_parts(self, head, at: int) -> list[tuple[int, int, str, Person | None]]:
        """A relative pronoun's speaker is its antecedent's (the mention stays the pronoun); "they" and
        "the pair" are the people last named together."""
        if head.tag_ in ("WP", "WDT") and head.head.dep_ == "relcl":
            start, end = self._span_of(head, head)
            return [
                (start, end, kind, person)
                for _, _, kind, person in (self._one_speaker(h, at) for h in conjuncts(head.head.head))
            ]
        if head.lower_ in GROUP_WORDS:
            start, end = self._span_of(head.left_edge if head.tag_.startswith("NN") else head, head)
            group = self.people.group(start)
            if group:
                return [(start, end, PERSON, person) for person in group]
        return [self._one_speaker(head, at)]

    def _one_speaker(self, head, at: int) -> tuple[int, int, str, Person | None]:
        word = head.lower_
        start, end = self._span_of(head, head)
        if word in GENDERED or word in FIRST_PERSON:
            return start, end, PERSON, self.people.pronoun(word, start)
        if head.tag_ in ("PRP", "PRP$", "WP", "EX", "DT") or word in ("they", "them", "their", "it", "its"):
            person = self.people.pronoun(word, start)
            return start, end, PERSON if person else OTHER, person
        appos = next((c for c in head.children if c.dep_ == "appos" and c.ent_type_ == "PERSON"), None)
        if appos is not None and head.tag_ in ("NN", "NNS"):
            return self._one_speaker(appos, at)
        if (
            head.tag_ in ("NNP", "NNPS")
            or head.ent_type_
            or (head.text[:1].isupper() and self.people.person_for_name(head.text, evidence=False))
        ):
            return self._named_speaker(head)
        first = head.left_edge if head.left_edge.i <= head.i else head
        start = self._at(first)
        noun = word
        if noun in ORGANISATION_NOUNS:
            return start, end, ORGANISATION, None
        if noun in PERSON_NOUNS:
            definite = any(
                c.dep_ in ("det", "poss") and c.lower_ in ("the", "this", "that", "his", "her", "their")
                for c in head.children
            )
            person = self.people.descriptor(noun, start) if definite else None
            return start, end, PERSON, person
        return start, end, OTHER, None

    def _named_speaker(self, head) -> tuple[int, int, str, Person | None]:
        doc = head.doc
        first = head
        while (
            first.i > 0
            and doc[first.i - 1].dep_ in ("compound", "amod", "nmod", "poss", "case")
            and doc[first.i - 1].head.i in (head.i, first.i)
            and not doc[first.i - 1].is_punct
        ):
            first = doc[first.i - 1]
        start, end = self._at(first), self._at(head) + len(head.text)
        entity = entity_of(head)
        if entity is not None and entity.label_ == "PERSON":
            name_tokens = [t for t in entity]
        else:
            name_tokens = [t for t in doc[first.i : head.i + 1] if t.tag_ in ("NNP", "NNPS")]
            name_tokens = last_run(name_tokens, head)
        words = [t.text for t in doc[max(first.i - 1, 0) : head.i + 1]]
        name = strip_title(" ".join(t.text for t in name_tokens)) or head.text
        in_directory = self.directory.find(name) is not None
        relative_who = any(c.dep_ == "relcl" and any(g.lower_ == "who" for g in c.children) for c in head.children)
        votes = self.labels.get(fold(name).split()[-1] if name.strip() else "", Counter())
        evidence = (
            (entity is not None and entity.label_ == "PERSON" and not title_case(doc.text))
            or votes[True] > votes[False]
            or honorific_gender(words) is not None
            or relative_who
            or any(w.lower().rstrip(".") in ("mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov") for w in words)
        )
        known = self.people.person_for_name(name, evidence=False)  # people.yml, or named earlier in the document
        organisation = (
            known is None
            and not in_directory
            and (
                (entity is not None and entity.label_ in _NAMED_ENTITY_ORG and not evidence)
                or any(w.lower().strip(".,’'") in ORGANISATION_WORDS for w in name.split())
            )
        )
        if organisation:
            return start, end, ORGANISATION, None
        person = known or self.people.person_for_name(name, evidence)
        if person is not None:
            self.people.note(person, start, honorific_gender(words))
            return start, end, PERSON, person
        kind = PERSON if evidence or looks_like_name(name, words_at_least=1) else OTHER
        return start, end, kind, None
