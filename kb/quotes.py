"""Who said what: quotations and reported speech, and their speakers, from the dependency parse.

A statement is ``direct`` (words in quotation marks) or ``indirect``
(reported speech: "Koller says that ...", "according to LeCun, ..."). Each
has its content span, the cue that links it to a speaker (a reporting verb,
``according to``, a colon or a dash) and the speaker's mention in the text,
resolved by kb.speakers to people (several for "LeCun and Quiñonero Candela"),
an organisation or something else.

Paragraphs are read as blocks: code, JSON and shell samples, reference lists
and headings hold no statements. The rest is parsed with spaCy (kb.nlp) where
it can hold one: a paragraph with a quotation mark, a reporting verb or
"according to". A document's parse is capped at ``MAX_PARSE_CHARS``; the
rest of a longer one is left out and the cut is reported.

Direct quotations, each tried in turn:

1. the reporting verb the quotation depends on in the parse (``“…,” said
   Mr. Richman``, ``Ng told reporters: “…”``, ``he described her as “…”``);
   its subject is the speaker (the antecedent of ``who``, the subject of the
   main clause for ``…, saying “…”``);
2. ``according to X`` in the same sentence;
3. a dash or parentheses after it (``“…” ― Karen Bobadilla``, ``“…” (Alvin Toffler)``);
4. a colon: the sentence that introduces it (``Hassabis explained:``,
   ``Let’s see what he has to say:``, ``His vision was ambitious:``);
5. another quotation of the same paragraph that has a speaker
   (``“…,” she said. “…”``), or, for a paragraph that opens with a
   quotation, the speaker of the previous paragraph's last quotation (the
   news convention for quotations running over several paragraphs);
6. ``That’s the advice from X and Y`` right after it adds X and Y.

A quotation with no speaker is kept only when it reads like speech (a
sentence of five words or more); titles (``“The Steve Harvey Morning
Show”``), terms and scare quotes (``so-called “attention”``, ``e.g. “the
cat sat on the mat”``) and code are never statements.

Reported speech is a reporting verb with a clausal complement (``X argues
that …``, ``…, sources said``) or ``according to X, …``, outside quotation
marks, whose content holds no quotation (that one is a direct quotation).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .people import Directory, Person, fold
from .speakers import (
    FIRST_PERSON, GENDERED, ORGANISATION, ORGANISATION_NOUNS, ORGANISATION_WORDS, OTHER, PERSON, PERSON_NOUNS,
    DocumentPeople, Speaker, honorific_gender, looks_like_name, strip_title,
)

DIRECT, INDIRECT = "direct", "indirect"
MAX_PARSE_CHARS = 100_000  # parsed per document at most: bounds its cost (about 3 s)
MAX_PIECE_CHARS = 2_500  # one text given to the parser: long paragraphs are cut between sentences
_PRONOUNS = {"it", "him", "her", "them", "this", "that", "these", "those", "so", "something", "anything",
             "nothing", "everything", "one", "me", "us", "you", "yes", "no", "otherwise", "what", "which"}
SPEECH_MIN_WORDS = 5  # an unattributed quotation shorter than this is a term or scare quote


def _verb(lemma: str, *irregular: str) -> dict[str, str]:
    """Every form of a regular verb (and its irregular ones) -> lemma."""
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        forms = {lemma, lemma[:-1] + "ies", lemma[:-1] + "ied", lemma + "ing"}
    elif re.search(r"(?:[^aeiou][aeiou][pt]|mit|fer)$", lemma) and lemma not in ("visit", "edit", "credit", "limit", "offer"):
        forms = {lemma, lemma + "s", lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    else:
        third = lemma + ("es" if re.search(r"(?:s|sh|ch|x|z)$", lemma) else "s")
        forms = {lemma, third, stem + "ed", stem + "ing"}
    return {form: lemma for form in forms | set(irregular)}


# Verbs that report what someone said, wrote or thinks. Indirect speech takes the narrower list.
_REPORTING = [
    ("say", "said", "says", "saying"), ("tell", "told"), ("write", "wrote", "written", "writing"), ("add",),
    ("explain",), ("argue",), ("note",), ("warn",), ("claim",), ("insist",), ("state",), ("suggest",),
    ("advise",), ("conclude",), ("declare",), ("admit",), ("acknowledge",), ("emphasize",), ("emphasise",),
    ("stress",), ("announce",), ("report",), ("respond",), ("reply",), ("agree",), ("believe",),
    ("think", "thought"), ("contend",), ("maintain",), ("assert",), ("predict",), ("estimate",), ("deny",),
    ("mention",), ("confirm",), ("allege",), ("testify",), ("reveal",), ("indicate",), ("recommend",),
    ("promise",), ("vow",), ("pledge",), ("fear",), ("worry",), ("feel", "felt"), ("concede",), ("counter",),
    ("recall",), ("complain",), ("observe",), ("remark",), ("comment",), ("tweet",), ("post",), ("caution",),
    ("urge",), ("predict",), ("propose",), ("point",), ("show", "shown"), ("find", "found"), ("hope",),
    ("expect",), ("realize",), ("realise",), ("answer",), ("ask",), ("question",), ("wonder",), ("joke",),
    ("quip",), ("muse",), ("exclaim",), ("shout",), ("chant",), ("scream",), ("yell",), ("whisper",),
    ("describe",), ("call",), ("label",), ("dub",), ("brand",), ("liken",), ("recount",), ("share",),
    ("continue",), ("put",), ("disagree",), ("sum", "summed", "summing"), ("summarize",), ("summarise",),
    ("put",), ("teach", "taught"), ("preach",), ("proclaim",), ("boast",), ("charge",), ("accuse",),
    ("criticize",), ("criticise",), ("praise",), ("dismiss",), ("insist",), ("reiterate",), ("echo",),
    ("cite",), ("blast",), ("slam",), ("tout",), ("highlight",), ("underline",), ("underscore",), ("stress",),
]
# Verbs whose object or infinitive states a position: "Trump attacked free-trade deals",
# "she plans to run", "protesters called for an inquiry" (reported speech in the wide sense news uses).
OBJECT_CUES = {
    "show", "cite", "support", "attack", "mention", "question", "back", "endorse", "urge", "propose",
    "oppose", "report", "note", "highlight", "reject", "demand", "declare", "announce", "criticize", "criticise",
    "praise", "defend", "express", "deny", "condemn", "dismiss", "blame", "reference", "acknowledge", "welcome",
    "predict", "recommend", "reveal", "confirm", "dispute", "challenge", "tout", "applaud", "slam", "blast",
    "advocate", "favor", "favour", "embrace", "decry", "denounce", "lament", "champion", "promote",
    "discuss", "outline", "detail", "describe", "liken", "compare", "view", "pitch", "invoke", "document",
    "chronicle", "explain", "disclose", "release", "claim", "suggest", "credit", "mock", "ridicule",
}
INFINITIVE_CUES = {
    "want", "plan", "refuse", "seek", "vow", "pledge", "promise", "agree", "decide", "encourage", "urge", "tell",
    "propose", "threaten", "intend", "offer", "aim", "ask", "demand", "warn", "hope", "expect", "call", "decline",
    "advise", "push", "press", "implore", "persuade", "prefer", "like",
}
PREPOSITION_CUES = {
    ("call", "for"), ("call", "on"), ("speak", "of"), ("speak", "about"), ("talk", "about"), ("warn", "of"),
    ("warn", "about"), ("warn", "against"), ("respond", "to"), ("complain", "about"), ("argue", "for"),
    ("argue", "against"), ("push", "for"), ("advocate", "for"), ("insist", "on"), ("comment", "on"),
    ("write", "about"), ("joke", "about"), ("testify", "about"), ("speak", "out"), ("rail", "against"),
    ("ask", "about"), ("accuse", "of"), ("blame", "for"), ("point", "to"), ("brag", "about"), ("boast", "about"),
    ("refer", "to"), ("vote", "against"), ("vote", "for"), ("criticize", "for"), ("praise", "for"),
    ("advise", "against"), ("caution", "against"),
}
_REPORTING += [(lemma,) for lemma in sorted(OBJECT_CUES | INFINITIVE_CUES | {v for v, _ in PREPOSITION_CUES})]
_REPORTING += [("seek", "sought"), ("speak", "spoke", "spoken"), ("talk",), ("rail",), ("threaten",), ("intend",),
               ("aim",), ("decline",), ("push",), ("press",), ("implore",), ("persuade",), ("prefer",),
               ("like",), ("outline",), ("detail",), ("view",), ("pitch",), ("invoke",), ("document",),
               ("chronicle",), ("disclose",), ("release",), ("credit",), ("mock",), ("ridicule",), ("brag",),
               ("refer",), ("vote",), ("discuss",), ("compare",), ("read", "reads", "reading")]
CUE_FORMS: dict[str, str] = {}
for _entry in _REPORTING:
    CUE_FORMS.update(_verb(*_entry))
INDIRECT_LEMMAS = {
    "say", "tell", "write", "add", "explain", "argue", "note", "warn", "claim", "insist", "state", "suggest",
    "advise", "conclude", "declare", "admit", "acknowledge", "emphasize", "emphasise", "stress", "announce",
    "report", "respond", "agree", "believe", "think", "contend", "maintain", "assert", "predict", "estimate",
    "deny", "mention", "confirm", "allege", "testify", "reveal", "indicate", "recommend", "promise", "vow",
    "pledge", "fear", "worry", "feel", "concede", "counter", "recall", "complain", "observe", "remark",
    "tweet", "post", "caution", "urge", "propose", "point", "show", "find", "hope", "expect", "realize",
    "realise", "reiterate", "highlight", "underline", "underscore", "boast", "charge", "accuse", "answer",
    "reply", "proclaim", "ask", "question", "wonder",
}
# Nouns for what someone said, for "In his words, “…”", "Hinton's advice:" and "That's the advice from X".
SPEECH_NOUNS = {
    "words", "word", "advice", "message", "statement", "remark", "remarks", "answer", "response", "reply",
    "comment", "comments", "view", "views", "verdict", "gist", "quote", "tweet", "post", "explanation",
    "argument", "point", "reaction", "vision", "take", "opinion", "thoughts", "thought", "tip", "tips",
    "recommendation", "suggestion", "warning", "conclusion", "claim", "assessment", "summary", "motto",
    "mantra", "philosophy", "line", "gem", "lesson", "lessons", "insight", "insights", "wisdom", "saying",
}
# Things that speak for their authors: "a statement saying …", "the letter reads".
DOCUMENT_NOUNS = {
    "statement", "statements", "letter", "letters", "report", "reports", "tweet", "tweets", "post", "posts",
    "ad", "ads", "advertisement", "email", "emails", "memo", "release", "document", "documents", "study",
    "studies", "article", "paper", "survey", "poll", "message", "note", "video", "filing", "complaint",
    "lawsuit", "ruling", "order", "op-ed", "editorial", "column", "blog", "book", "speech", "petition",
}
# Nouns whose owner states the clause after them: "Trump's claim that …".
CLAIM_NOUNS = {
    "claim", "claims", "assertion", "argument", "view", "belief", "suggestion", "warning", "allegation",
    "statement", "contention", "insistence", "promise", "pledge", "prediction", "position", "assessment",
    "conclusion", "admission", "acknowledgment", "acknowledgement", "charge", "complaint", "hope", "fear",
    "point", "message", "observation", "remark", "answer", "response", "reply", "report", "finding",
    "findings", "estimate", "theory", "idea", "opinion", "proposal", "recommendation", "advice",
}
# Words just before a quotation that make it a term, a title or an example, not what someone said.
_MENTION_BEFORE = re.compile(
    r"(?:\b(?:e\.?g|i\.?e|eg|ie|such as|like|the (?:phrase|word|words|term|terms|sentence|text|string|name|"
    r"label|title|heading|section|chapter|book|paper|article|post|episode|song|film|movie|show|category|"
    r"concept|notion|idea|expression|question|button|tab|menu|option|command|field)|called|named|titled|"
    r"entitled|so-called|known as|dubbed|labell?ed|marked|click(?:ed|ing)?(?: on)?|press(?:ed)?|select(?:ed)?|"
    r"type[ds]?|enter(?:ed)?|tagged|choose|chose|write|writes)|[\(\[])[\s.,:]*$",
    re.I,
)
_OPEN = "“\"„"
_CLOSE = "”\""
_QUOTE_MARKS = "“”\"„"
_TRANSCRIPT_LABEL = re.compile(r"^\(?[A-Z][A-Z.'’\- ]{1,30}:\s")
_CANDIDATE = re.compile(
    "[" + _QUOTE_MARKS + "]|\\baccording to\\b|:\\s*$|\\b(?:"
    + "|".join(sorted({re.escape(f) for f in CUE_FORMS}, key=len, reverse=True)) + ")\\b",
    re.I,
)
# Speakers whose short quoted words are their own terms or examples, not someone's statement.
_GENERIC_SPEAKERS = {"i", "we", "you", "it", "this", "that", "they", "one", "he", "she", "people", "someone"}
# Words that refer to people named together: "LeCun and Quiñonero Candela … The pair urged …".
GROUP_WORDS = {"they", "them", "their", "pair", "duo", "two", "both"}
_SMALL_WORDS = {"of", "the", "a", "an", "and", "or", "in", "on", "for", "to", "with", "at", "by", "from", "vs",
                "is", "as", "but", "nor", "into", "via", "de", "la", "van", "von", "und", "are", "be"}
_NAMED_ENTITY_ORG = {"ORG", "NORP", "GPE", "FAC", "LOC", "PRODUCT", "WORK_OF_ART", "LAW", "EVENT"}


@dataclass
class Quote:
    """One statement: its content, kind and cue, and who it is attributed to."""

    quote: str
    start: int  # offsets of the content in the text (quotation marks excluded)
    end: int
    kind: str = DIRECT
    cue: str | None = None
    speaker_mention: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    speaker_type: str | None = None  # person, organisation or other; None: no speaker found
    people: tuple[Person, ...] = ()
    cites: str | None = None  # a URL near the quotation: the source a second-hand quote cites
    cue_start: int | None = None  # offset of the cue in the text, where it is a word

    @property
    def person(self) -> Person | None:
        return self.people[0] if self.people else None

    @property
    def speaker(self) -> str | None:
        return self.people[0].name if self.people else None

    def attribute(self, speaker: Speaker, cue: str | None) -> None:
        self.speaker_mention, self.speaker_start, self.speaker_end = speaker.mention, speaker.start, speaker.end
        self.speaker_type, self.people, self.cue = speaker.type, speaker.people, cue


@dataclass
class Extraction:
    """What one document yields: its statements, its author as a person, and a note when its parse was cut."""

    quotes: list[Quote]
    author: Person | None = None
    note: str | None = None


@dataclass
class DocumentText:
    text: str
    author: str | None = None
    links: list[dict] | None = None  # {start, end, url} in text: the page's links, which plain text no longer shows


def extract_quotes(text: str, directory: Directory, author: str | None = None,
                   links: list[dict] | None = None) -> list[Quote]:
    """Every statement in ``text`` with its speaker where one can be found."""
    (extraction,) = extract_many([DocumentText(text, author, links)], directory)
    return extraction.quotes


def extract_many(documents: Iterable[DocumentText], directory: Directory, pipeline: str | None = None,
                 processes: int = 1) -> Iterator[Extraction]:
    """``extract_quotes`` for many documents, in order, parsing them as one stream (``processes`` parsers)."""
    from collections import deque

    from .nlp import parse

    waiting: deque[_Document] = deque()  # documents whose pieces have gone to the parser, in order

    def pieces() -> Iterator[str]:
        for document in documents:
            doc = _Document(document, directory)
            waiting.append(doc)
            for start, end in doc.pieces:
                yield doc.text[start:end]

    def finished() -> Iterator[Extraction]:
        while waiting and len(waiting[0].parsed) == len(waiting[0].pieces):
            yield waiting.popleft().extract()

    for parsed in parse(pieces(), pipeline, processes):
        yield from finished()  # documents with no piece to parse
        doc = waiting[0]
        doc.parsed.append((doc.pieces[len(doc.parsed)][0], parsed))
        yield from finished()
    yield from finished()


def document_author(text: str, directory: Directory, author: str | None) -> Person | None:
    """The author as a person: the first person the byline names, else a letter's sign-off."""
    if author:
        for name in re.split(r"\s*(?:[;,&|/]|\band\b|\bwith\b)\s*", re.sub(r"^\s*by\s+", "", author.strip(), flags=re.I)):
            name = strip_title(name)
            person = directory.find(name)
            if person or looks_like_name(name):
                return person or Person(name, verified=False)
        return None
    # A letter's sign-off: a lone first name among the last lines ("Keep learning!\nAndrew").
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines[-8:]):
        if re.fullmatch(r"[A-Z][a-z]+", line):
            person = directory.by_signoff(line)
            if person:
                return person
    return None


# -- paragraphs and quotation marks ----------------------------------------------------------------


def block_kind(paragraph: str) -> str:
    """``prose``, or what holds no statements: ``code`` (code, JSON, shell), ``reference`` (a citation), ``heading``."""
    stripped = paragraph.strip()
    if re.match(r"^(?:\$ |>>> |\.\.\. |#include|import |from \S+ import|def |class |function |const |let |var |"
                r"pip |npm |git |curl |docker |sudo |python |//|/\*|<\?|<[a-z]+[ >])", stripped):
        return "code"
    symbols = sum(stripped.count(c) for c in "{}[]();=<>_\\|$`#@*^~")
    if len(stripped) >= 8 and symbols / len(stripped) > 0.08 and not re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", stripped):
        return "code"
    if re.match(r"^\s*[\[{]", stripped) and re.search(r"[\]}],?\s*$", stripped) or re.match(r'^\s*"[^"]+"\s*:', stripped):
        return "code"
    if _is_reference(stripped):
        return "reference"
    if len(stripped) < 80 and not re.search(r"[.!?:;,”\"’)…]$", stripped) and len(stripped.split()) <= 10:
        return "heading"
    return "prose"


def _is_reference(text: str) -> bool:
    year = re.search(r"\b(?:1[89]|20)\d\d[a-z]?\b", text)
    if not year or len(text) > 600:
        return False
    leading = re.match(r"^(?:\[\d+\]|\d{1,3}[.)]\s|↩|\^|[A-Z][\w’'\-]+,\s+(?:[A-Z]\.\s*)+(?:,|&|and\b))", text)
    signals = len(re.findall(r"et al\.?|arXiv|doi[:.]|Proceedings|Journal of|Conference on|pp\.\s*\d|Vol\.\s*\d|"
                             r"ISBN|Retrieved|In [A-Z][a-z]+ (?:et al|[A-Z])|\(\d{4}[a-z]?\)[.,]|https?://", text))
    return bool(leading) or signals >= 2


def _quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of quoted content in one paragraph; unclosed quotes run to its end."""
    spans, open_at = [], None
    for i in range(start, end):
        c = text[i]
        if c not in _OPEN and c not in _CLOSE:
            continue
        before = text[i - 1] if i > start else " "
        after = text[i + 1] if i + 1 < end else " "
        if open_at is None:
            opening = c in "“„" or (c == '"' and (before.isspace() or before in "([{—–-:―") and not after.isspace())
            if c == "”" and i == start:  # a paragraph opening with a reversed mark (”Fear. …”)
                opening = True
            if opening:
                open_at = i + 1
        else:
            closing = c == "”" or (c == '"' and not before.isspace()) or (c == '"' and after in " \t,.;:")
            if closing:
                content_end = i - 1 if text[i - 1] == "," else i  # “Models break,” said …
                if content_end > open_at:
                    spans.append((open_at, content_end))
                open_at = None
            elif c in "“„":
                open_at = i + 1  # a new opening before the old one closed: the old one was stray
    if open_at is not None and end - open_at > 1:
        spans.append((open_at, end))
    return [(_trim(text, a, b)) for a, b in spans if text[a:b].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A paragraph as parser inputs of at most MAX_PIECE_CHARS, cut between sentences (or words)."""
    pieces = []
    while end - start > MAX_PIECE_CHARS:
        window = text[start:start + MAX_PIECE_CHARS]
        cut = max((m.end() for m in re.finditer(r"[.!?…][”\"’)]*\s+", window)), default=0)
        if cut < MAX_PIECE_CHARS // 4:
            cut = window.rfind(" ") + 1 or MAX_PIECE_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


# -- the parse ----------------------------------------------------------------------------------------


def _lemma(token) -> str | None:
    if not token.tag_.startswith("VB"):
        return None
    lemma = CUE_FORMS.get(token.lower_)
    if lemma == "put" and not any(c.lower_ == "it" for c in token.children):
        return None  # "as LeCun put it", not "put the data in"
    if lemma == "point" and not any(c.lower_ == "out" for c in token.children):
        return None
    if lemma == "continue" and any(c.dep_ in ("xcomp", "dobj") for c in token.children):
        return None  # "continued to work", not "“…,” she continued"
    if lemma == "read" and not any(c.dep_ == "nsubj" and c.lower_ in DOCUMENT_NOUNS for c in token.children):
        return None  # "the letter reads", not "she reads the paper"
    if lemma in ("show", "find", "call", "share") and not any(c.dep_ in ("nsubj",) for c in token.children):
        return None  # "a conference called “…”", "as shown"
    return lemma


def _conjuncts(token) -> list:
    return [token, *token.conjuncts]


def _subjects(verb, depth: int = 0, skip: frozenset = frozenset()) -> list:
    """The tokens heading the speaker of a reporting verb (several when coordinated); tokens in ``skip``
    (the quotation's own words, which a parse can take for the subject) never are."""
    for child in verb.children:
        if child.i in skip:
            continue
        if child.dep_ == "nsubj" or child.dep_ == "csubj":
            if child.tag_ in ("WP", "WDT") or child.lower_ in ("who", "which", "that"):
                return [child] if verb.dep_ == "relcl" else []  # "Smith, who said …": resolved through Smith
            if child.lower_ == "it" and any(c.dep_ == "expl" for c in verb.children):
                return []
            return _conjuncts(child)
        if child.dep_ == "agent":  # "was told by X"
            objects = [c for c in child.children if c.dep_ == "pobj"]
            return _conjuncts(objects[0]) if objects else []
    if depth > 3 or _imperative(verb) or (verb.tag_ in ("VBN", "VBD") and verb.dep_ == "advcl"):
        return []  # "Think about this: …"; "Asked what she would tell newcomers, …" (she was asked)
    if verb.dep_ in ("advcl", "xcomp", "conj", "pcomp", "ccomp") and verb.head.i != verb.i:
        for ancestor in verb.ancestors:  # "…, saying “…”": the subject of the clause that says it
            if _lemma(ancestor):
                found = _subjects(ancestor, depth + 1, skip)
                if found:
                    return found
        if verb.dep_ == "ccomp" or verb.head.lower_ == "worth" or \
                (verb.tag_ == "VB" and any(a.tag_ == "JJ" for a in verb.ancestors)):
            return []  # "able to read a rule, estimate what …", "it’s worth asking …": nobody in particular
        # "He pitched himself by telling them that …": the nearest clause above with a subject
        verbs = [a for a in verb.ancestors if a.tag_.startswith("VB")]
        return _subjects(verbs[0], depth + 1, skip) if verbs else []
    if verb.dep_ == "acl" and verb.head.lower_ in DOCUMENT_NOUNS:  # "a statement saying …"
        return [verb.head]
    return []


def _sentence(token):
    """``token.sent``, which spaCy finds by walking the document each time; cached per document."""
    doc = token.doc
    cached = doc.user_data.get("kb_sentences")
    if cached is None:
        sentences = list(doc.sents)
        cached = doc.user_data["kb_sentences"] = ([s.start for s in sentences], sentences)
    starts, sentences = cached
    return sentences[bisect.bisect_right(starts, token.i) - 1]


def _entity(token):
    """The named entity ``token`` is part of, or None (spaCy rebuilds ``doc.ents`` on every access)."""
    if not token.ent_type_:
        return None
    doc = token.doc
    entities = doc.user_data.get("kb_entities")
    if entities is None:
        entities = doc.user_data["kb_entities"] = list(doc.ents)
    return next((e for e in entities if e.start <= token.i < e.end), None)


def _imperative(verb) -> bool:
    """"Think about this: …", "Importantly, note that …": a base-form verb opening its sentence speaks to the reader."""
    if verb.tag_ != "VB" or any(c.dep_ in ("aux", "auxpass", "nsubj") for c in verb.children):
        return False
    sentence = _sentence(verb)
    opening = [t for t in sentence if not (t.is_punct or t.dep_ == "advmod" and t.head.i == verb.i)]
    return bool(opening) and opening[0].i == verb.i


def _interjected(verb) -> bool:
    """"It was, the president said, a stone …": the verb's clause set off by commas inside another."""
    words = [t for t in verb.subtree if not t.is_punct]
    doc = verb.doc
    first, last = words[0].i, words[-1].i
    before = doc[first - 1].text if first > 0 else ""
    after = doc[last + 1].text if last + 1 < len(doc) else "."
    return before == "," and after in (",", ".", ";")


def _reported(clause) -> bool:
    """A clause a reporting verb can report: a clausal complement with a subject, "that" or a wh-word
    ("I found this in a thread … getting sued" is not one)."""
    if clause.dep_ == "advcl":
        return any(g.lower_ == "that" and g.dep_ in ("mark", "advmod") for g in clause.children)
    return clause.dep_ == "ccomp" and any(
        g.dep_ in ("nsubj", "nsubjpass", "expl", "mark", "csubj") or g.tag_ in ("WDT", "WP", "WRB") for g in clause.children)


def _according_to(token):
    """For the token 'according' of 'according to X', X's head tokens."""
    if token.lower_ != "according":
        return None
    for child in token.children:
        if child.lower_ == "to":
            objects = [c for c in child.children if c.dep_ == "pobj"]
            if objects:
                return _conjuncts(objects[0])
    return None


# -- one document ----------------------------------------------------------------------------------


@dataclass
class _Paragraph:
    start: int
    end: int
    kind: str
    quotes: list[tuple[int, int]] = field(default_factory=list)


class _Document:
    """One document's paragraphs, its parse, and the statements found in it."""

    def __init__(self, document: DocumentText, directory: Directory):
        self.text = text = document.text or ""
        self.links = document.links or []
        self.directory = directory
        self.author = document_author(text, directory, document.author)
        self.labels: dict[str, Counter] = {}  # a name's last word -> how often the recogniser called it a person
        self.people = DocumentPeople(directory, self.author)
        self.paragraphs = []
        for m in re.finditer(r"[^\n]+", text):
            start, end = _trim(text, m.start(), m.end())
            if start < end:
                kind = block_kind(text[start:end])
                spans = _quote_spans(text, start, end) if kind == "prose" else []
                self.paragraphs.append(_Paragraph(start, end, kind, spans))
        self._join_open_quotations()
        self.pieces: list[tuple[int, int]] = []
        self.parsed: list[tuple[int, object]] = []  # (offset, spaCy Doc), in text order
        self.note = None
        budget = MAX_PARSE_CHARS
        for index, paragraph in enumerate(self.paragraphs):
            # The paragraph after a quotation (or after a block quotation introduced by a colon) may name its speaker.
            after_quotation = index > 0 and bool(self.paragraphs[index - 1].quotes) or \
                index > 1 and self.text[self.paragraphs[index - 2].end - 1] == ":"
            if paragraph.kind != "prose" or not (after_quotation or _CANDIDATE.search(text, paragraph.start, paragraph.end)):
                continue
            length = paragraph.end - paragraph.start
            if length > budget:
                total = sum(p.end - p.start for p in self.paragraphs if p.kind == "prose")
                self.note = (f"attribution: parsed {MAX_PARSE_CHARS - budget:,} of {total:,} characters "
                             f"(at most {MAX_PARSE_CHARS:,} per document)")
                break
            budget -= length
            self.pieces.extend(_split_pieces(text, paragraph.start, paragraph.end))

    def _join_open_quotations(self) -> None:
        """A quotation left open at the end of its paragraph that closes a few paragraphs on (a list
        after “… you will need to master:”) runs to that mark; the paragraphs between are part of it."""
        for i, paragraph in enumerate(self.paragraphs):
            if not paragraph.quotes or paragraph.quotes[-1][1] != paragraph.end or \
                    self.text[paragraph.end - 1] in _CLOSE:
                continue
            for following in self.paragraphs[i + 1:i + 5]:
                body = self.text[following.start:following.end]
                close = re.search(r"[”\"](?=[\s.,;:!?)]|$)", body)
                opening = re.search(r"(?:^|\s)[“\"](?=\S)", body)
                if opening and (not close or opening.start() < close.start()):
                    break  # a new quotation opens first: the old one was a paragraph of its own
                if close:
                    start = paragraph.quotes[-1][0]
                    paragraph.quotes[-1] = (start, following.start + close.start())
                    for between in self.paragraphs[i + 1:self.paragraphs.index(following) + 1]:
                        between.kind = "quoted"
                        between.quotes = []
                    break

    # -- tokens ------------------------------------------------------------------------------------

    def _tokens(self, start: int, end: int) -> list:
        """The parsed tokens that start in [start, end) (within the parsed piece that holds ``start``)."""
        i = bisect.bisect_right(self._starts, start) - 1
        if i < 0 or start >= self._ends[i]:
            return []
        base, doc = self.parsed[i]
        span = doc.char_span(start - base, min(end, self._ends[i]) - base, alignment_mode="expand")
        return [t for t in span if base + t.idx >= start] if span is not None else []

    def _at(self, token) -> int:
        """A token's offset in the document's text."""
        return self._base[id(token.doc)] + token.idx

    def _span_of(self, first, last) -> tuple[int, int]:
        return self._at(first), self._at(last) + len(last.text)

    # -- the whole document --------------------------------------------------------------------------

    def extract(self) -> Extraction:
        self._starts = [start for start, _ in self.parsed]
        self._ends = [start + len(doc.text) for start, doc in self.parsed]
        self._paragraph_starts = [p.start for p in self.paragraphs]
        self._base = {id(doc): start for start, doc in self.parsed}
        self._note_people()
        quotes: list[Quote] = []
        previous: Quote | None = None  # the last attributed quotation of the paragraph before
        for index, paragraph in enumerate(self.paragraphs):
            found = [self._direct(paragraph, span, index) for span in paragraph.quotes]
            block = self._introduced_paragraph(paragraph, index)
            found += [block] if block else []
            indirect, partial = self._indirect(paragraph)
            found = sorted([q for q in found if not any(p.start <= q.start and q.end <= p.end + 1 for p in partial)]
                           + partial, key=lambda q: q.start)
            self._share_speakers(paragraph, found, indirect, previous)
            kept = [q for q in found if self._keep(q)]
            attributed = [q for q in kept if q.speaker_type]
            if attributed:
                previous = attributed[-1]
            elif paragraph.kind == "prose" and not paragraph.quotes:
                previous = None
            quotes.extend(sorted(kept + indirect, key=lambda q: q.start))
        for quote in quotes:
            quote.cites = _nearby_url(self.text, quote.end, self.links) if quote.kind == DIRECT else None
        return Extraction(quotes, self.author, self.note)

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
            headline = _title_case(doc.text)  # in "Google AI CEO Wants Students To…" the recogniser sees names everywhere
            for ent in doc.ents:
                for word in fold(strip_title(ent.text)).split()[-1:]:
                    self.labels.setdefault(word, Counter())[ent.label_ == "PERSON"] += 1
                if ent.label_ != "PERSON":
                    continue
                person = self.people.person_for_name(ent.text, evidence=not headline)
                if person is not None:
                    words = [t.text for t in doc[max(ent.start - 2, 0):ent.end]]
                    self.people.note(person, base + ent.start_char, honorific_gender(words),
                                     self._descriptors(ent.root))
            for token in doc:  # people named together, "Yann LeCun and Joaquin Quiñonero Candela", for "the pair"
                if token.tag_ == "NNP" and token.dep_ != "conj" and token.conjuncts:
                    together = [self.people.person_for_name(self._entity_name(c), evidence=not headline)
                                for c in _conjuncts(token)]
                    self.people.note_group(tuple(dict.fromkeys(p for p in together if p)), base + token.idx)

    def _entity_name(self, token) -> str:
        entity = _entity(token)
        if entity is not None and entity.label_ == "PERSON":
            return entity.text
        return " ".join(t.text for t in _last_run([t for t in token.subtree if t.tag_ in ("NNP", "NNPS") and t.i <= token.i], token))

    def _descriptors(self, root) -> set[str]:
        """Nouns that describe a named person: 'the professor' (apposition) or 'math professor Paulos' (title)."""
        nouns = {t.lower_ for t in root.lefts if t.dep_ == "compound" and t.tag_ in ("NN", "NNS")}
        nouns |= {t.lower_ for t in root.children if t.dep_ == "appos" and t.tag_ in ("NN", "NNS")}
        if root.dep_ == "appos" and root.head.tag_ in ("NN", "NNS"):
            nouns.add(root.head.lower_)
        return nouns

    # -- direct quotations ---------------------------------------------------------------------------

    def _direct(self, paragraph: _Paragraph, span: tuple[int, int], index: int) -> Quote:
        start, end = span
        quote = Quote(self.text[start:end], start, end)
        tokens = self._tokens(start, end)
        if not tokens:
            return quote
        for finder in (self._governing_cue, self._according_cue, self._adjacent_cue):
            found = finder(tokens, start, end)
            if found:
                cue, heads = found
                quote.attribute(self._speaker(heads, start, relative_pronoun=False), cue)
                return quote
        if self._dash_cue(quote, paragraph) or self._named_before(quote, paragraph):
            return quote
        self._colon_cue(quote, paragraph, index)
        return quote

    def _governing_cue(self, tokens, start: int, end: int):
        """The reporting verb the quotation's words depend on, and its subject.

        Of several (``X said he hopes that “…”``), the outermost: news
        attributes the quotation to the one who is reported as saying it."""
        inside = {t.i for t in tokens}
        roots = [t for t in tokens if t.head.i == t.i or t.head.i not in inside]
        for root in roots:
            node, depth, found = root, 0, None
            while node.head.i != node.i and depth < 5:
                node, depth = node.head, depth + 1
                if node.i in inside:
                    break
                if _lemma(node):
                    heads = self._speech_owner(node) or _subjects(node, skip=frozenset(inside))
                    if heads:
                        found = self._cue_text(node), heads
            if found:
                return found
        return None

    def _speech_owner(self, verb) -> list:
        """"TechCrunch summed up their advice: “…”": the advice is theirs, not the summariser's."""
        for child in verb.children:
            if child.dep_ == "dobj" and child.lower_ in SPEECH_NOUNS:
                owners = [c for c in child.children if c.dep_ == "poss"]
                if owners:
                    return _conjuncts(owners[0])
        return []

    def _according_cue(self, tokens, start: int, end: int):
        """``according to X`` or ``as X put it`` in the quotation's sentence."""
        sentence = _sentence(tokens[0])
        for token in sentence:
            if start <= self._at(token) < end:
                continue
            heads = _according_to(token)
            if heads:
                return "according to", heads
            if _lemma(token) and any(c.dep_ == "mark" and c.lower_ == "as" for c in token.children):
                heads = _subjects(token, skip=frozenset(t.i for t in tokens))
                if heads:
                    return self._cue_text(token), heads
        return None

    def _adjacent_cue(self, tokens, start: int, end: int):
        """A reporting verb right after the closing mark or right before the opening one (a parse split)."""
        doc = tokens[0].doc
        after = [t for t in doc[tokens[-1].i + 1:tokens[-1].i + 8] if not t.is_punct]
        inside = frozenset(t.i for t in tokens)
        for token in after[:4]:
            if _lemma(token):
                heads = [h for h in _subjects(token, skip=inside) if self._at(h) >= end]
                if heads:
                    return self._cue_text(token), heads
        before = doc[max(tokens[0].i - 12, 0):tokens[0].i]
        if len(before) and before[-1].is_punct and before[-1].text in _QUOTE_MARKS:
            before = before[:-1]
        if len(before) and before[-1].text in (",", ":"):
            for token in reversed(before):
                if _lemma(token):
                    heads = _subjects(token)
                    if heads:
                        return self._cue_text(token), heads
                    break
        return None

    def _dash_cue(self, quote: Quote, paragraph: _Paragraph) -> bool:
        """“…” ― Edwin G. Monroy, “…” – By Andrejs Dunkels, “…” (Alvin Toffler); also on the line after
        the quotation (a block quotation's footer), where "— a reviewer’s note" names nobody."""
        close = quote.end
        while close < paragraph.end and self.text[close] in _QUOTE_MARKS + ",.":
            close += 1
        rest = self.text[close:paragraph.end]
        following = next((p for p in self.paragraphs if p.start >= paragraph.end), None)
        if not rest.strip() and following is not None and re.match(r"[―—–]", self.text[following.start]) \
                and following.end - following.start < 120:
            close, rest = following.start, self.text[following.start:following.end]
            if not self._dash_name(quote, close, rest):
                words = rest.lstrip("―—–- ")
                at = close + len(rest) - len(words)
                quote.attribute(Speaker(words, at, at + len(words), OTHER), rest[0])  # said by someone unnamed
            return True
        return self._dash_name(quote, close, rest)

    def _dash_name(self, quote: Quote, close: int, rest: str) -> bool:
        m = re.match(r"\s*(?:[―—–~]|--?)\s*(?:[Bb]y\s+)?(?P<name>[^\n,;(\[]{2,60}?)\s*(?:[,;(\[]|\.\s|\.?$)", rest) or \
            re.match(r"\s*\((?P<name>[^)\n]{2,60})\)\s*\.?\s*$", rest)
        if not m:
            return False
        name = strip_title(m.group("name"))
        person = self.people.person_for_name(name, evidence=looks_like_name(name))
        if person is None:
            return False
        at = close + m.start("name")
        self.people.note(person, at)
        quote.attribute(Speaker(m.group("name").strip(), at, at + len(m.group("name").strip()), PERSON, (person,)),
                        rest[:m.start("name")].strip() or "―")
        return True

    def _named_before(self, quote: Quote, paragraph: _Paragraph) -> bool:
        """"Geoff Hinton on university research—“…”": a name and a topic, then a dash or colon."""
        before = self.text[paragraph.start:quote.start].rstrip(_QUOTE_MARKS + " ")
        m = re.match(r"(?P<name>[A-Z][\w’'.\-]*(?: [A-Z][\w’'.\-]*){0,3}) (?:on|about)\b[^.!?]{0,80}[—–:―]$", before)
        if not m:
            return False
        person = self.people.person_for_name(m.group("name"), evidence=looks_like_name(strip_title(m.group("name"))))
        if person is None:
            return False
        at = paragraph.start
        self.people.note(person, at)
        quote.attribute(Speaker(m.group("name"), at, at + len(m.group("name")), PERSON, (person,)), before[-1])
        return True

    def _colon_cue(self, quote: Quote, paragraph: _Paragraph, index: int) -> None:
        """A quotation introduced by a sentence ending in a colon: that sentence's speaker."""
        before = self.text[paragraph.start:quote.start].rstrip(_QUOTE_MARKS + " ")
        if before.endswith(":"):
            intro_end = paragraph.start + len(before) - 1
        elif not before and index > 0 and self.text[:paragraph.start].rstrip().endswith(":"):
            intro_end = len(self.text[:paragraph.start].rstrip()) - 1  # "Hassabis explained:" ¶ “…”
        else:
            return
        found = self._introducer(intro_end, quote.start, strict=False)
        if found:
            quote.attribute(*found)

    def _introducer(self, colon: int, at: int, strict: bool) -> tuple[Speaker, str] | None:
        """Who the sentence ending with the colon at ``colon`` introduces as speaking, and the cue (its
        reporting verb, or ':'). ``strict``: only through a reporting verb or a noun of saying ("Let’s see
        what he has to say:", "Hinton's advice:"), as a block quotation without marks needs."""
        before = self.text[max(0, colon - 60):colon]
        inverted = re.search(r"(?:^|[.!?]\s+|\n)(?P<cue>Said|Says|Wrote|Writes|Added|Adds|Asked)\s+"
                             r"(?P<name>[A-Z][^:.!?]{1,40})$", before)
        if inverted:  # "Said Ellis: “…”"
            names = [t for t in self._tokens(colon - len(inverted.group("name")), colon) if t.tag_ in ("NNP", "NNPS")]
            if names:
                return self._speaker([names[-1]], at), inverted.group("cue").lower()
        token = next((t for t in self._tokens(colon, colon + 1) if t.text == ":"), None)
        if token is None:
            return None
        sentence = _sentence(token)
        for candidate in sentence:  # a reporting verb in the introducing sentence
            if _lemma(candidate) or candidate.lower_ in ("say", "says", "said"):
                heads = _subjects(candidate)
                if heads:
                    return self._speaker(heads, at), self._cue_text(candidate)
        for child in sentence.root.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                owner = [c for c in child.children if c.dep_ == "poss"]
                if child.lower_ in SPEECH_NOUNS and owner:  # "His vision was ambitious:", "Hinton's advice:"
                    return self._speaker(_conjuncts(owner[0]), at), ":"
                if strict:
                    break
                speaker = self._speaker(_conjuncts(child), at)
                if speaker.type == PERSON:  # "Watanabe disagreed:"
                    return speaker, ":"
        for token in sentence:  # "Here's a gem from Firat:", "In his words:"
            if token.lower_ in ("from", "by", "of") and token.head.lower_ in SPEECH_NOUNS:
                objects = [c for c in token.children if c.dep_ == "pobj"]
                if objects:
                    speaker = self._speaker(_conjuncts(objects[0]), at)
                    if speaker.people:
                        return speaker, ":"
        return None

    def _introduced_paragraph(self, paragraph: _Paragraph, index: int) -> Quote | None:
        """A paragraph without quotation marks after one ending "… has to say:": a block quotation."""
        if index == 0 or paragraph.kind != "prose" or paragraph.quotes:
            return None
        intro = self.paragraphs[index - 1]
        body = self.text[paragraph.start:paragraph.end]
        if intro.kind != "prose" or not self.text[intro.start:intro.end].endswith(":") or body.endswith(":") \
                or len(body.split()) < 2 or re.match(r"(?:Example|Link|From|Source|Via)\b", body):
            return None
        found = self._introducer(intro.end - 1, paragraph.start, strict=True)
        if found is None:
            return None
        quote = Quote(body, paragraph.start, paragraph.end)
        quote.attribute(*found)
        return quote

    def _share_speakers(self, paragraph: _Paragraph, quotes: list[Quote], indirect: list[Quote],
                        previous: Quote | None) -> None:
        """Quotations without a cue take the speaker of the statement before them in their paragraph, of
        the quotation after them, of the paragraph before (for a paragraph that opens with one), or of the
        sentence before them ("Cummings called him a master. “He showed …”")."""
        for i, quote in enumerate(quotes):
            if quote.speaker_type:
                continue
            before = [q for q in quotes[:i] + indirect if q.speaker_type and q.end <= quote.start]
            donor = max(before, key=lambda q: q.end, default=None) or \
                next((q for q in quotes[i + 1:] if q.speaker_type), None)
            opens_paragraph = self.text[paragraph.start] in _OPEN + "”" and quote.start - paragraph.start <= 2
            if donor is None and opens_paragraph and previous is not None:
                donor = previous
            if donor is not None:
                self._copy_speaker(quote, donor)
            else:
                self._previous_sentence_speaker(quote, paragraph)
        if quotes and quotes[-1].speaker_type:
            self._following_attribution(paragraph, quotes)
        elif len(quotes) == 1 and quotes[0].start - paragraph.start <= 2 and paragraph.end - quotes[0].end <= 2:
            self._introduced_after(paragraph, quotes[0])

    def _previous_sentence_speaker(self, quote: Quote, paragraph: _Paragraph) -> None:
        tokens = self._tokens(quote.start, quote.end)
        if not tokens or not re.search(r"[.!?][”\"’)]*\s*[“\"]?$", self.text[paragraph.start:quote.start]):
            return
        sentence = _sentence(tokens[0])
        if sentence.start == 0 or self._at(sentence[0]) < paragraph.start:
            return
        previous = _sentence(tokens[0].doc[sentence.start - 1])
        subjects = [c for c in previous.root.children if c.dep_ == "nsubj"]
        if subjects and not self._in_quotation_token(subjects[0]):
            speaker = self._speaker(_conjuncts(subjects[0]), quote.start)
            if speaker.type == PERSON:
                quote.attribute(speaker, "context")

    def _copy_speaker(self, quote: Quote, donor: Quote) -> None:
        quote.speaker_mention, quote.speaker_start, quote.speaker_end = (donor.speaker_mention, donor.speaker_start,
                                                                          donor.speaker_end)
        quote.speaker_type, quote.people, quote.cue = donor.speaker_type, donor.people, donor.cue

    def _introduced_after(self, paragraph: _Paragraph, quote: Quote) -> None:
        """A paragraph that is only a quotation, then one about a person named in full ("“…” ¶ Along with
        Hinton and LeCun, Yoshua Bengio forms …"): the pull quote of the person introduced."""
        following = next((p for p in self.paragraphs if p.start > paragraph.end), None)
        tokens = self._tokens(following.start, following.end) if following and following.kind == "prose" else []
        if not tokens:
            return
        sentence = _sentence(tokens[0])
        if _lemma(sentence.root):
            return  # a statement of its own
        subject = next((c for c in sentence.root.children if c.dep_ == "nsubj"), None)
        if subject is None or subject.tag_ not in ("NNP", "NNPS"):
            return
        speaker = self._speaker([subject], following.start)
        if speaker.people and " " in speaker.people[0].name:
            quote.attribute(speaker, "context")

    def _following_attribution(self, paragraph: _Paragraph, quotes: list[Quote]) -> None:
        """'That's the gist of the advice … from X and Y' after a quotation: it is theirs too."""
        following = next((p for p in self.paragraphs if p.start > paragraph.end), None)
        if following is None or following.kind != "prose":
            return
        tokens = self._tokens(following.start, following.end)
        if not tokens:
            return
        sentence = _sentence(tokens[0])
        root = sentence.root
        if not any(c.dep_ == "nsubj" and c.lower_ in ("that", "this", "these", "those") for c in root.children) \
                or not any(c.dep_ == "attr" and c.lower_ in SPEECH_NOUNS for c in root.children):
            return
        for token in sentence:
            if token.lower_ in ("from", "by", "of"):
                objects = [c for c in token.children if c.dep_ == "pobj"]
                if not objects:
                    continue
                speaker = self._speaker(_conjuncts(objects[0]), following.start)
                if not speaker.people:
                    continue
                for quote in quotes:
                    if quote.people and not set(speaker.people) <= set(quote.people):
                        people = tuple(dict.fromkeys((*quote.people, *speaker.people)))
                        quote.attribute(Speaker(speaker.mention, speaker.start, speaker.end, PERSON, people), quote.cue)
                return

    def _keep(self, quote: Quote) -> bool:
        """A statement, not a title, a term, an example or code."""
        content = quote.quote
        if _is_title(content) or _is_code(content) or _TRANSCRIPT_LABEL.match(content):
            return False
        before = self.text[max(0, quote.start - 40):quote.start].rstrip(_QUOTE_MARKS + " ")
        marked = bool(_MENTION_BEFORE.search(before))
        if len(content.split()) < SPEECH_MIN_WORDS:
            # “disgusting”, a “con artist”: words someone named used; not the writer's own terms ("we call
            # it “hidden”", "you write “she is the aunt”"), scare quotes or unattributed fragments
            mention = (quote.speaker_mention or "").lower()
            return quote.speaker_type in (PERSON, ORGANISATION) and not marked and \
                (bool(quote.people) or mention not in _GENERIC_SPEAKERS)
        return bool(quote.speaker_type) or (not marked and bool(re.search(r"[a-z]", content)))

    def _cue_text(self, token) -> str:
        particle = next((c.text for c in token.children if c.dep_ == "prt"), "")
        return f"{token.text} {particle}".strip()

    # -- reported speech -------------------------------------------------------------------------------

    def _indirect(self, paragraph: _Paragraph) -> tuple[list[Quote], list[Quote]]:
        """Reported speech in a paragraph, and partial quotations: reported speech that quotes some of
        its words (``Trump tweeted that Machado was “disgusting”``), a direct statement of its own."""
        found, partial = [], []
        for token in self._tokens(paragraph.start, paragraph.end):
            if self._in_quotation(paragraph, self._at(token)):
                continue
            statement = self._according_statement(token) or self._reported_clause(token) or self._claim_noun(token)
            if statement is None:
                continue
            (first, last), heads, cue, clause_reported = statement
            if all(h.lower_ in ("you", "your") for h in heads):
                continue  # "you may believe …", "you'll find …": the reader, addressed, reports nothing
            cue_at = self._at(token)
            start, end = self._span_of(first, last)
            start, end = self._strip_content(start, end)
            content = self.text[start:end]
            quoted = [(a, b) for a, b in paragraph.quotes if a < end and start < b]
            if not content.strip() or content.lower() in _PRONOUNS:  # "cited it": nothing to show
                continue
            speaker = self._speaker(heads, start)
            if not clause_reported and speaker.type == OTHER and \
                    all(h.tag_ == "NN" and h.lower_ not in DOCUMENT_NOUNS for h in heads):
                continue  # "A gradient check compares the derivative …": a thing holds no position (a poll may)
            if quoted:
                own = "".join(self.text[x:y] for x, y in zip([start] + [b for _, b in quoted], [a for a, _ in quoted] + [end]))
                if len(re.findall(r"\w+", own)) < 3 or any(a < start - 1 or b > end + 1 for a, b in quoted):
                    continue  # the quotation itself is the statement
                terms = all(len(self.text[a:b].split()) < SPEECH_MIN_WORDS for a, b in quoted)
                if terms and not speaker.people and speaker.mention.lower() in _GENERIC_SPEAKERS | {"people"}:
                    continue  # "what people call the “relative error”": a term, not anyone's words
                if self.text[end:end + 1] in ("”", '"') and content.count("“") + content.count('"') % 2 > content.count("”"):
                    end += 1  # the closing mark the clause's parse left out
                    content = self.text[start:end]
                quote = Quote(content, start, end, kind=DIRECT)
                partial.append(quote)
            elif any(c in content for c in _QUOTE_MARKS):
                continue
            else:
                quote = Quote(content, start, end, kind=INDIRECT)
                found.append(quote)
            quote.attribute(speaker, cue)
            quote.cue_start = cue_at
        # "He said Obama hopes that his successor will push for …": the text reports his statement, not
        # the successor's; reported speech inside other reported speech is part of it.
        every = found + partial
        found = [q for q in found if not any(o is not q and o.start <= q.cue_start < o.end for o in every)]
        outermost = [q for q in partial if not any(o is not q and o.start <= q.start and q.end <= o.end for o in partial)]
        return found, outermost

    def _complement(self, token, lemma: str):
        """What a reporting verb reports, as (first token, last token, whether it is a clause): its clause,
        or the object or infinitive of a verb of position ("urged students to take calculus")."""
        if lemma in INDIRECT_LEMMAS:
            clauses = [c for c in token.children if _reported(c)]
            after = [c for c in clauses if c.i > token.i]
            # A clause before the verb is its content only at the end of the sentence ("…, sources said"):
            # "… don’t derive anything – they just tell you facts" is two statements of the writer's.
            before = [c for c in clauses if c.i < token.i and
                      not any(g.i > token.i and g.dep_ in ("dobj", "dative", "xcomp", "ccomp") for g in token.children)]
            clause = (after or before or [None])[0]
            if clause is not None:
                return clause.left_edge, clause.right_edge, True
        children = list(token.children)
        infinitive = next((c for c in children if lemma in INFINITIVE_CUES and c.dep_ == "xcomp" and c.tag_ == "VB"), None)
        obj = next((c for c in children if c.dep_ == "dobj"), None)
        if infinitive is not None:
            return (obj.left_edge if obj is not None and obj.i < infinitive.i else infinitive.left_edge), infinitive.right_edge, False
        if obj is not None and lemma in ("call", "label", "brand", "dub", "deem", "consider"):
            named = next((c for c in children if c.dep_ in ("oprd", "ccomp")), None)
            if named is not None:
                return obj.left_edge, named.right_edge, False  # "Jones called the proposal a disaster"
        if obj is not None and lemma in OBJECT_CUES:
            return obj.left_edge, obj.right_edge, False
        for child in children:
            if child.dep_ in ("prep", "prt") and (lemma, child.lower_) in PREPOSITION_CUES:
                objects = [g for g in child.children if g.dep_ in ("pobj", "pcomp")]
                if objects:
                    return objects[0].left_edge, objects[0].right_edge, False
        return None

    def _in_quotation_token(self, token) -> bool:
        offset = self._at(token)
        i = bisect.bisect_right(self._paragraph_starts, offset) - 1
        return i >= 0 and any(a <= offset < b for a, b in self.paragraphs[i].quotes)

    def _reported_clause(self, token):
        lemma = _lemma(token)
        if lemma is None:
            return None
        heads = _subjects(token)
        found = self._complement(token, lemma)
        span, clause_reported = (found[:2], found[2]) if found else (None, True)
        if span is None and lemma in INDIRECT_LEMMAS and token.dep_ in ("parataxis", "ccomp", "advcl") and heads \
                and token.head.tag_.startswith("VB") and _interjected(token) \
                and all(c.dep_ in ("nsubj", "advmod", "punct", "npadvmod", "prep") for c in token.children):
            # "It was, the president said, a stone …": the clause the reporting verb interrupts
            head = token.head
            inner = {t.i for t in token.subtree}
            words = [t for t in head.subtree if t.i not in inner and not t.is_punct]
            if len(words) >= 3 and not self._in_quotation_token(words[0]):
                return (words[0], words[-1]), heads, self._cue_text(token), True
        if span is None and lemma in INDIRECT_LEMMAS and token.dep_ == "relcl" and token.head.dep_ == "nsubj":
            # "One important thing she mentions … is that …": the clause of the verb the relative clause's noun is subject of
            clause = next((c for c in token.head.head.children if c.dep_ in ("ccomp", "attr") and c.tag_.startswith("VB")), None)
            span = (clause.left_edge, clause.right_edge) if clause is not None else None
            heads = [c for c in token.children if c.dep_ == "nsubj"]
        if span is None or not heads:
            return None
        return span, heads, self._cue_text(token), clause_reported

    def _claim_noun(self, token):
        """"Trump's claim that …", "his view that …": a noun of saying with its owner and its clause."""
        if token.lower_ not in CLAIM_NOUNS or not token.tag_.startswith("NN"):
            return None
        owner = next((c for c in token.children if c.dep_ == "poss"), None)
        clause = next((c for c in token.children if c.dep_ in ("acl", "ccomp") and
                       any(g.lower_ == "that" and g.dep_ == "mark" for g in c.children)), None)
        if owner is None or clause is None:
            return None
        return (clause.left_edge, clause.right_edge), _conjuncts(owner), token.text, True

    def _according_statement(self, token):
        heads = _according_to(token)
        if not heads:
            return None
        sentence = _sentence(token)
        phrase = list(token.subtree)
        left = [t for t in sentence if t.i < phrase[0].i and not t.is_punct]
        right = [t for t in sentence if t.i > phrase[-1].i and not t.is_punct]
        side = right if len(right) >= len(left) else left
        names = 0
        while names < len(side) - 3 and side[names].tag_ == "NNP":
            names += 1
        if names and side is right and side[names - 1].nbor(1).text == ",":
            side = side[names:]  # "According to the budget director, Li Wei, repairs …": Li Wei is the source
        if len(side) < 3:
            return None
        return (side[0], side[-1]), heads, "according to", True

    def _strip_content(self, start: int, end: int) -> tuple[int, int]:
        while start < end and (self.text[start].isspace() or self.text[start] in ",;:—–-"):
            start += 1
        while end > start and (self.text[end - 1].isspace() or self.text[end - 1] in ",;:—–-"):
            end -= 1
        return start, end

    def _in_quotation(self, paragraph: _Paragraph, offset: int) -> bool:
        return any(a <= offset < b for a, b in paragraph.quotes)

    # -- speakers ----------------------------------------------------------------------------------------

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
            return [(start, end, kind, person) for _, _, kind, person in
                    (self._one_speaker(h, at) for h in _conjuncts(head.head.head))]
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
        if head.tag_ in ("NNP", "NNPS") or head.ent_type_ or \
                (head.text[:1].isupper() and self.people.person_for_name(head.text, evidence=False)):
            return self._named_speaker(head)
        first = head.left_edge if head.left_edge.i <= head.i else head
        start = self._at(first)
        noun = word
        if noun in ORGANISATION_NOUNS:
            return start, end, ORGANISATION, None
        if noun in PERSON_NOUNS:
            definite = any(c.dep_ in ("det", "poss") and c.lower_ in ("the", "this", "that", "his", "her", "their")
                           for c in head.children)
            person = self.people.descriptor(noun, start) if definite else None
            return start, end, PERSON, person
        return start, end, OTHER, None

    def _named_speaker(self, head) -> tuple[int, int, str, Person | None]:
        doc = head.doc
        first = head
        while first.i > 0 and doc[first.i - 1].dep_ in ("compound", "amod", "nmod", "poss", "case") \
                and doc[first.i - 1].head.i in (head.i, first.i) and not doc[first.i - 1].is_punct:
            first = doc[first.i - 1]
        start, end = self._at(first), self._at(head) + len(head.text)
        entity = _entity(head)
        if entity is not None and entity.label_ == "PERSON":
            name_tokens = [t for t in entity]
        else:
            name_tokens = [t for t in doc[first.i:head.i + 1] if t.tag_ in ("NNP", "NNPS")]
            name_tokens = _last_run(name_tokens, head)
        words = [t.text for t in doc[max(first.i - 1, 0):head.i + 1]]
        name = strip_title(" ".join(t.text for t in name_tokens)) or head.text
        in_directory = self.directory.find(name) is not None
        relative_who = any(c.dep_ == "relcl" and any(g.lower_ == "who" for g in c.children) for c in head.children)
        votes = self.labels.get(fold(name).split()[-1] if name.strip() else "", Counter())
        evidence = (entity is not None and entity.label_ == "PERSON" and not _title_case(doc.text)) \
            or votes[True] > votes[False] \
            or honorific_gender(words) is not None \
            or relative_who or any(w.lower().rstrip(".") in ("mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov")
                                    for w in words)
        known = self.people.person_for_name(name, evidence=False)  # people.yml, or named earlier in the document
        organisation = known is None and not in_directory and (
            (entity is not None and entity.label_ in _NAMED_ENTITY_ORG and not evidence)
            or any(w.lower().strip(".,’'") in ORGANISATION_WORDS for w in name.split()))
        if organisation:
            return start, end, ORGANISATION, None
        person = known or self.people.person_for_name(name, evidence)
        if person is not None:
            self.people.note(person, start, honorific_gender(words))
            return start, end, PERSON, person
        kind = PERSON if evidence or looks_like_name(name, words_at_least=1) else OTHER
        return start, end, kind, None


def _last_run(tokens: list, head) -> list:
    """The contiguous run of tokens ending at ``head``."""
    run = []
    for token in reversed(tokens):
        if run and token.i != run[0].i - 1:
            break
        run.insert(0, token)
    return run or [head]


def _title_case(text: str) -> bool:
    """A headline in title case: most of its words capitalised."""
    words = re.findall(r"[^\W\d_][\w’'\-]*", text)
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    return len(content) >= 4 and sum(w[0].isupper() for w in content) >= 0.7 * len(content)


def _is_title(content: str) -> bool:
    """A title or a name: every word that is not a small word capitalised (“State of the Union”)."""
    words = re.findall(r"[^\W\d_][\w’'\-]*", content)
    if not words or len(words) > 12:
        return False
    content_words = [w for w in words if w.lower() not in _SMALL_WORDS]
    return bool(content_words) and all(w[0].isupper() for w in content_words)


def _is_code(content: str) -> bool:
    """Code, a formula, an identifier, a path or a URL."""
    stripped = content.strip()
    if "\\" in stripped or re.search(r"[{}]|\b\w+_\w+\b|\w\.\w+\(|\w\([\w\s,.=\-'\"]*\)|\s[=<>]=?\s|^\$ ", stripped):
        return True
    if sum(stripped.count(c) for c in "[]();=<>$|#@*^~`") / max(len(stripped), 1) > 0.06:
        return True
    return " " not in content.strip() and bool(re.search(r"[./_#@]", content.strip().rstrip(".!?")))


_URL = re.compile(r"https?://[^\s)\]>\"”]+")


def _nearby_url(text: str, end: int, links: list[dict]) -> str | None:
    """A link or URL after the quotation within its paragraph and the next four non-empty ones."""
    window_end, seen = end, 0
    while seen < 5 and window_end < len(text):
        nxt = text.find("\n", window_end + 1)
        window_end = len(text) if nxt == -1 else nxt
        seen += bool(text[text.rfind("\n", 0, window_end) + 1:window_end].strip())
    m = _URL.search(text, end, window_end)
    candidates = [(m.start(), m.group().rstrip(".,;"))] if m else []
    candidates += [(link["start"], link["url"]) for link in links if end <= link["start"] < window_end]
    return min(candidates)[1] if candidates else None
