"""Who said what: quotations and reported speech, and their speakers, from the dependency parse.

A statement is ``direct`` (words in quotation marks) or ``indirect``
(reported speech: "Koller says that ...", "according to LeCun, ..."). Each
has its content span, the cue that links it to a speaker (a reporting verb,
``according to``, a colon or a dash) and the speaker's mention in the text,
resolved by kb.analysis.speakers to people (several for "LeCun and Quiñonero Candela"),
an organisation or something else.

Paragraphs are read as blocks: code, JSON and shell samples, reference lists
and headings hold no statements. The rest is parsed with spaCy (kb.analysis.nlp) where
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

Reported speech is kb.analysis.reported's; who a speaker mention is, kb.analysis.speakers';
the vocabulary and parse patterns both use, kb.analysis.cues; paragraphs and
quotation marks, kb.analysis.textblocks.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from embeddings.chunking import trim_span

from .cues import (
    CUE_FORMS,
    SPEECH_NOUNS,
    according_to,
    conjuncts,
    reporting_lemma,
    sentence_of,
    subjects,
)
from .people import Directory, Person
from .reported import ReportedSpeech
from .speakers import (
    GENERIC_SPEAKERS,
    ORGANISATION,
    OTHER,
    PERSON,
    DocumentPeople,
    MentionResolver,
    Speaker,
    looks_like_name,
    strip_title,
)
from .statements import COMMENT, DIRECT, QUESTION, SPOKEN, Quote
from .textblocks import (
    CLOSE_MARKS,
    OPEN_MARKS,
    QUOTE_MARKS,
    SPEECH_MIN_WORDS,
    block_kind,
    is_code,
    is_title,
    nearby_url,
    quote_spans,
    split_pieces,
)

MAX_PARSE_CHARS = 100_000  # parsed per document at most: bounds its cost (about 3 s)

# Words just before a quotation that make it a term, a title or an example, not what someone said.
_MENTION_BEFORE = re.compile(
    r"(?:\b(?:e\.?g|i\.?e|eg|ie|such as|like|the (?:phrase|word|words|term|terms|sentence|text|string|name|"
    r"label|title|heading|section|chapter|book|paper|article|post|episode|song|film|movie|show|category|"
    r"concept|notion|idea|expression|question|button|tab|menu|option|command|field)|called|named|titled|"
    r"entitled|so-called|known as|dubbed|labell?ed|marked|click(?:ed|ing)?(?: on)?|press(?:ed)?|select(?:ed)?|"
    r"type[ds]?|enter(?:ed)?|tagged|choose|chose|write|writes)|[\(\[])[\s.,:]*$",
    re.I,
)
_TRANSCRIPT_LABEL = re.compile(r"^\(?[A-Z][A-Z.'’\- ]{1,30}:\s")
_CANDIDATE = re.compile(
    "["
    + QUOTE_MARKS
    + "]|\\baccording to\\b|:\\s*$|\\b(?:"
    + "|".join(sorted({re.escape(f) for f in CUE_FORMS}, key=len, reverse=True))
    + ")\\b",
    re.I,
)


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
    segments: list[dict] | None = None  # a transcript's turns: {start, end, speaker, seconds, end_seconds}


def extract_quotes(
    text: str, directory: Directory, author: str | None = None, links: list[dict] | None = None
) -> list[Quote]:
    """Every statement in ``text`` with its speaker where one can be found."""
    (extraction,) = extract_many([DocumentText(text, author, links)], directory)
    return extraction.quotes


def extract_many(
    documents: Iterable[DocumentText], directory: Directory, pipeline: str | None = None, processes: int = 1
) -> Iterator[Extraction]:
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
        for name in re.split(
            r"\s*(?:[;,&|/]|\band\b|\bwith\b)\s*", re.sub(r"^\s*by\s+", "", author.strip(), flags=re.I)
        ):
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


# -- one document ----------------------------------------------------------------------------------


@dataclass
class _Paragraph:
    start: int
    end: int
    kind: str
    quotes: list[tuple[int, int]] = field(default_factory=list)


class _Document(ReportedSpeech, MentionResolver):
    """One document's paragraphs, its parse, and the statements found in it."""

    def __init__(self, document: DocumentText, directory: Directory):
        self.text = text = document.text or ""
        self.links = document.links or []
        self.segments = document.segments or []
        self.directory = directory
        self.author = document_author(text, directory, document.author)
        self.labels: dict[str, Counter] = {}  # a name's last word -> how often the recogniser called it a person
        self.people = DocumentPeople(directory, self.author)
        self.paragraphs = []
        for m in re.finditer(r"[^\n]+", text):
            start, end = trim_span(text, m.start(), m.end())
            if start < end:
                kind = block_kind(text[start:end])
                spans = quote_spans(text, start, end) if kind == "prose" else []
                self.paragraphs.append(_Paragraph(start, end, kind, spans))
        self._join_open_quotations()
        self.pieces: list[tuple[int, int]] = []
        self.parsed: list[tuple[int, object]] = []  # (offset, spaCy Doc), in text order
        self.note = None
        budget = MAX_PARSE_CHARS
        for index, paragraph in enumerate(self.paragraphs):
            # The paragraph after a quotation (or after a block quotation introduced by a colon) may name its speaker.
            after_quotation = (
                index > 0
                and bool(self.paragraphs[index - 1].quotes)
                or index > 1
                and self.text[self.paragraphs[index - 2].end - 1] == ":"
            )
            if paragraph.kind != "prose" or not (
                after_quotation or _CANDIDATE.search(text, paragraph.start, paragraph.end)
            ):
                continue
            length = paragraph.end - paragraph.start
            if length > budget:
                total = sum(p.end - p.start for p in self.paragraphs if p.kind == "prose")
                self.note = (
                    f"attribution: parsed {MAX_PARSE_CHARS - budget:,} of {total:,} characters "
                    f"(at most {MAX_PARSE_CHARS:,} per document)"
                )
                break
            budget -= length
            self.pieces.extend(split_pieces(text, paragraph.start, paragraph.end))

    def _join_open_quotations(self) -> None:
        """A quotation left open at the end of its paragraph that closes a few paragraphs on (a list
        after “… you will need to master:”) runs to that mark; the paragraphs between are part of it."""
        for i, paragraph in enumerate(self.paragraphs):
            if (
                not paragraph.quotes
                or paragraph.quotes[-1][1] != paragraph.end
                or self.text[paragraph.end - 1] in CLOSE_MARKS
            ):
                continue
            for following in self.paragraphs[i + 1 : i + 5]:
                body = self.text[following.start : following.end]
                close = re.search(r"[”\"](?=[\s.,;:!?)]|$)", body)
                opening = re.search(r"(?:^|\s)[“\"](?=\S)", body)
                if opening and (not close or opening.start() < close.start()):
                    break  # a new quotation opens first: the old one was a paragraph of its own
                if close:
                    start = paragraph.quotes[-1][0]
                    paragraph.quotes[-1] = (start, following.start + close.start())
                    for between in self.paragraphs[i + 1 : self.paragraphs.index(following) + 1]:
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
            found = sorted(
                [q for q in found if not any(p.start <= q.start and q.end <= p.end + 1 for p in partial)] + partial,
                key=lambda q: q.start,
            )
            self._share_speakers(paragraph, found, indirect, previous)
            kept = [q for q in found if self._keep(q)]
            attributed = [q for q in kept if q.speaker_type]
            if attributed:
                previous = attributed[-1]
            elif paragraph.kind == "prose" and not paragraph.quotes:
                previous = None
            quotes.extend(sorted(kept + indirect, key=lambda q: q.start))
        for quote in quotes:
            quote.cites = nearby_url(self.text, quote.end, self.links) if quote.kind == DIRECT else None
        if self.segments:
            quotes = self._with_turns(quotes)
        return Extraction(quotes, self.author, self.note)

    def _with_turns(self, quotes: list[Quote]) -> list[Quote]:
        """A transcript's or thread's statements: each named speaker's turn as what they said (kind
        spoken) or asked (question: a turn ending in a question mark), each comment as its author's
        (kind comment, by a pseudonymous handle), and the statements found inside the turns
        that quote or report someone else (one the turn's own speaker makes is the turn itself)."""
        turns = []
        for segment in self.segments:
            speaker = segment.get("speaker")
            start, end = segment["start"], segment["end"]
            if not speaker or start >= end:
                continue
            if segment.get("pseudonym"):  # a handle: never looked up among real names
                person, kind = Person(speaker, verified=False, pseudonym=True), COMMENT
            else:
                person = self.people.person_for_name(speaker, evidence=True) or Person(speaker, verified=False)
                kind = QUESTION if self.text[start:end].rstrip().endswith("?") else SPOKEN
            turn = Quote(self.text[start:end], start, end, kind)
            mention_start = max(start - len(speaker) - 2, 0)
            turn.attribute(Speaker(speaker, mention_start, mention_start + len(speaker), PERSON, (person,)), None)
            turns.append(turn)
        inside = [
            q
            for q in quotes
            if not any(t.start <= q.start < t.end and q.person is not None and q.person == t.person for t in turns)
        ]
        return sorted(inside + turns, key=lambda q: (q.start, q.kind))

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
                if reporting_lemma(node):
                    heads = self._speech_owner(node) or subjects(node, skip=frozenset(inside))
                    if heads:
                        found = self._cue_text(node), heads
            if found:
                return found
        return None

    def _speech_owner(self, verb) -> list:
        """ "TechCrunch summed up their advice: “…”": the advice is theirs, not the summariser's."""
        for child in verb.children:
            if child.dep_ == "dobj" and child.lower_ in SPEECH_NOUNS:
                owners = [c for c in child.children if c.dep_ == "poss"]
                if owners:
                    return conjuncts(owners[0])
        return []

    def _according_cue(self, tokens, start: int, end: int):
        """``according to X`` or ``as X put it`` in the quotation's sentence."""
        sentence = sentence_of(tokens[0])
        for token in sentence:
            if start <= self._at(token) < end:
                continue
            heads = according_to(token)
            if heads:
                return "according to", heads
            if reporting_lemma(token) and any(c.dep_ == "mark" and c.lower_ == "as" for c in token.children):
                heads = subjects(token, skip=frozenset(t.i for t in tokens))
                if heads:
                    return self._cue_text(token), heads
        return None

    def _adjacent_cue(self, tokens, start: int, end: int):
        """A reporting verb right after the closing mark or right before the opening one (a parse split)."""
        doc = tokens[0].doc
        after = [t for t in doc[tokens[-1].i + 1 : tokens[-1].i + 8] if not t.is_punct]
        inside = frozenset(t.i for t in tokens)
        for token in after[:4]:
            if reporting_lemma(token):
                heads = [h for h in subjects(token, skip=inside) if self._at(h) >= end]
                if heads:
                    return self._cue_text(token), heads
        before = doc[max(tokens[0].i - 12, 0) : tokens[0].i]
        if len(before) and before[-1].is_punct and before[-1].text in QUOTE_MARKS:
            before = before[:-1]
        if len(before) and before[-1].text in (",", ":"):
            for token in reversed(before):
                if reporting_lemma(token):
                    heads = subjects(token)
                    if heads:
                        return self._cue_text(token), heads
                    break
        return None

    def _dash_cue(self, quote: Quote, paragraph: _Paragraph) -> bool:
        """“…” ― Edwin G. Monroy, “…” – By Andrejs Dunkels, “…” (Alvin Toffler); also on the line after
        the quotation (a block quotation's footer), where "— a reviewer’s note" names nobody."""
        close = quote.end
        while close < paragraph.end and self.text[close] in QUOTE_MARKS + ",.":
            close += 1
        rest = self.text[close : paragraph.end]
        following = next((p for p in self.paragraphs if p.start >= paragraph.end), None)
        if (
            not rest.strip()
            and following is not None
            and re.match(r"[―—–]", self.text[following.start])
            and following.end - following.start < 120
        ):
            close, rest = following.start, self.text[following.start : following.end]
            if not self._dash_name(quote, close, rest):
                words = rest.lstrip("―—–- ")
                at = close + len(rest) - len(words)
                quote.attribute(Speaker(words, at, at + len(words), OTHER), rest[0])  # said by someone unnamed
            return True
        return self._dash_name(quote, close, rest)

    def _dash_name(self, quote: Quote, close: int, rest: str) -> bool:
        m = re.match(
            r"\s*(?:[―—–~]|--?)\s*(?:[Bb]y\s+)?(?P<name>[^\n,;(\[]{2,60}?)\s*(?:[,;(\[]|\.\s|\.?$)", rest
        ) or re.match(r"\s*\((?P<name>[^)\n]{2,60})\)\s*\.?\s*$", rest)
        if not m:
            return False
        name = strip_title(m.group("name"))
        person = self.people.person_for_name(name, evidence=looks_like_name(name))
        if person is None:
            return False
        at = close + m.start("name")
        self.people.note(person, at)
        quote.attribute(
            Speaker(m.group("name").strip(), at, at + len(m.group("name").strip()), PERSON, (person,)),
            rest[: m.start("name")].strip() or "―",
        )
        return True

    def _named_before(self, quote: Quote, paragraph: _Paragraph) -> bool:
        """ "Geoff Hinton on university research—“…”": a name and a topic, then a dash or colon."""
        before = self.text[paragraph.start : quote.start].rstrip(QUOTE_MARKS + " ")
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
        before = self.text[paragraph.start : quote.start].rstrip(QUOTE_MARKS + " ")
        if before.endswith(":"):
            intro_end = paragraph.start + len(before) - 1
        elif not before and index > 0 and self.text[: paragraph.start].rstrip().endswith(":"):
            intro_end = len(self.text[: paragraph.start].rstrip()) - 1  # "Hassabis explained:" ¶ “…”
        else:
            return
        found = self._introducer(intro_end, quote.start, strict=False)
        if found:
            quote.attribute(*found)

    def _introducer(self, colon: int, at: int, strict: bool) -> tuple[Speaker, str] | None:
        """Who the sentence ending with the colon at ``colon`` introduces as speaking, and the cue (its
        reporting verb, or ':'). ``strict``: only through a reporting verb or a noun of saying ("Let’s see
        what he has to say:", "Hinton's advice:"), as a block quotation without marks needs."""
        before = self.text[max(0, colon - 60) : colon]
        inverted = re.search(
            r"(?:^|[.!?]\s+|\n)(?P<cue>Said|Says|Wrote|Writes|Added|Adds|Asked)\s+"
            r"(?P<name>[A-Z][^:.!?]{1,40})$",
            before,
        )
        if inverted:  # "Said Ellis: “…”"
            names = [t for t in self._tokens(colon - len(inverted.group("name")), colon) if t.tag_ in ("NNP", "NNPS")]
            if names:
                return self._speaker([names[-1]], at), inverted.group("cue").lower()
        token = next((t for t in self._tokens(colon, colon + 1) if t.text == ":"), None)
        if token is None:
            return None
        sentence = sentence_of(token)
        for candidate in sentence:  # a reporting verb in the introducing sentence
            if reporting_lemma(candidate) or candidate.lower_ in ("say", "says", "said"):
                heads = subjects(candidate)
                if heads:
                    return self._speaker(heads, at), self._cue_text(candidate)
        for child in sentence.root.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                owner = [c for c in child.children if c.dep_ == "poss"]
                if child.lower_ in SPEECH_NOUNS and owner:  # "His vision was ambitious:", "Hinton's advice:"
                    return self._speaker(conjuncts(owner[0]), at), ":"
                if strict:
                    break
                speaker = self._speaker(conjuncts(child), at)
                if speaker.type == PERSON:  # "Watanabe disagreed:"
                    return speaker, ":"
        for token in sentence:  # "Here's a gem from Firat:", "In his words:"
            if token.lower_ in ("from", "by", "of") and token.head.lower_ in SPEECH_NOUNS:
                objects = [c for c in token.children if c.dep_ == "pobj"]
                if objects:
                    speaker = self._speaker(conjuncts(objects[0]), at)
                    if speaker.people:
                        return speaker, ":"
        return None

    def _introduced_paragraph(self, paragraph: _Paragraph, index: int) -> Quote | None:
        """A paragraph without quotation marks after one ending "… has to say:": a block quotation."""
        if index == 0 or paragraph.kind != "prose" or paragraph.quotes:
            return None
        intro = self.paragraphs[index - 1]
        body = self.text[paragraph.start : paragraph.end]
        if (
            intro.kind != "prose"
            or not self.text[intro.start : intro.end].endswith(":")
            or body.endswith(":")
            or len(body.split()) < 2
            or re.match(r"(?:Example|Link|From|Source|Via)\b", body)
        ):
            return None
        found = self._introducer(intro.end - 1, paragraph.start, strict=True)
        if found is None:
            return None
        quote = Quote(body, paragraph.start, paragraph.end)
        quote.attribute(*found)
        return quote

    def _share_speakers(
        self, paragraph: _Paragraph, quotes: list[Quote], indirect: list[Quote], previous: Quote | None
    ) -> None:
        """Quotations without a cue take the speaker of the statement before them in their paragraph, of
        the quotation after them, of the paragraph before (for a paragraph that opens with one), or of the
        sentence before them ("Cummings called him a master. “He showed …”")."""
        for i, quote in enumerate(quotes):
            if quote.speaker_type:
                continue
            before = [q for q in quotes[:i] + indirect if q.speaker_type and q.end <= quote.start]
            donor = max(before, key=lambda q: q.end, default=None) or next(
                (q for q in quotes[i + 1 :] if q.speaker_type), None
            )
            opens_paragraph = self.text[paragraph.start] in OPEN_MARKS + "”" and quote.start - paragraph.start <= 2
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
        if not tokens or not re.search(r"[.!?][”\"’)]*\s*[“\"]?$", self.text[paragraph.start : quote.start]):
            return
        sentence = sentence_of(tokens[0])
        if sentence.start == 0 or self._at(sentence[0]) < paragraph.start:
            return
        previous = sentence_of(tokens[0].doc[sentence.start - 1])
        subjects = [c for c in previous.root.children if c.dep_ == "nsubj"]
        if subjects and not self._in_quotation_token(subjects[0]):
            speaker = self._speaker(conjuncts(subjects[0]), quote.start)
            if speaker.type == PERSON:
                quote.attribute(speaker, "context")

    def _copy_speaker(self, quote: Quote, donor: Quote) -> None:
        quote.speaker_mention, quote.speaker_start, quote.speaker_end = (
            donor.speaker_mention,
            donor.speaker_start,
            donor.speaker_end,
        )
        quote.speaker_type, quote.people, quote.cue = donor.speaker_type, donor.people, donor.cue

    def _introduced_after(self, paragraph: _Paragraph, quote: Quote) -> None:
        """A paragraph that is only a quotation, then one about a person named in full ("“…” ¶ Along with
        Hinton and LeCun, Yoshua Bengio forms …"): the pull quote of the person introduced."""
        following = next((p for p in self.paragraphs if p.start > paragraph.end), None)
        tokens = self._tokens(following.start, following.end) if following and following.kind == "prose" else []
        if not tokens:
            return
        sentence = sentence_of(tokens[0])
        if reporting_lemma(sentence.root):
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
        sentence = sentence_of(tokens[0])
        root = sentence.root
        if not any(
            c.dep_ == "nsubj" and c.lower_ in ("that", "this", "these", "those") for c in root.children
        ) or not any(c.dep_ == "attr" and c.lower_ in SPEECH_NOUNS for c in root.children):
            return
        for token in sentence:
            if token.lower_ in ("from", "by", "of"):
                objects = [c for c in token.children if c.dep_ == "pobj"]
                if not objects:
                    continue
                speaker = self._speaker(conjuncts(objects[0]), following.start)
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
        if is_title(content) or is_code(content) or _TRANSCRIPT_LABEL.match(content):
            return False
        before = self.text[max(0, quote.start - 40) : quote.start].rstrip(QUOTE_MARKS + " ")
        marked = bool(_MENTION_BEFORE.search(before))
        if len(content.split()) < SPEECH_MIN_WORDS:
            # “disgusting”, a “con artist”: words someone named used; not the writer's own terms ("we call
            # it “hidden”", "you write “she is the aunt”"), scare quotes or unattributed fragments
            mention = (quote.speaker_mention or "").lower()
            return (
                quote.speaker_type in (PERSON, ORGANISATION)
                and not marked
                and (bool(quote.people) or mention not in GENERIC_SPEAKERS)
            )
        return bool(quote.speaker_type) or (not marked and bool(re.search(r"[a-z]", content)))

    def _cue_text(self, token) -> str:
        particle = next((c.text for c in token.children if c.dep_ == "prt"), "")
        return f"{token.text} {particle}".strip()

    # -- reported speech -------------------------------------------------------------------------------

    def _in_quotation_token(self, token) -> bool:
        offset = self._at(token)
        i = bisect.bisect_right(self._paragraph_starts, offset) - 1
        return i >= 0 and any(a <= offset < b for a, b in self.paragraphs[i].quotes)

    def _in_quotation(self, paragraph: _Paragraph, offset: int) -> bool:
        return any(a <= offset < b for a, b in paragraph.quotes)

    # -- speakers ----------------------------------------------------------------------------------------
