"""Direct quotations and who said them.

Rules, in the order they are tried for each quotation:

1. A cue right after the closing mark: ``,” he wrote``, ``,” said Yann LeCun``,
   ``,” LeCun said``, ``,” according to Koller``.
2. A cue before the opening mark in the same sentence: ``Koller said, “…``,
   ``As LeCun put it, “…``, ``According to Ng, “…``, ``I’ve sometimes said, “…``.
3. A colon-introduced quotation (``… in one line: “…”``, or a paragraph such
   as ``Let’s see what he has to say:`` followed by an unmarked quotation) is
   given to the speaker the introducing sentence names, or else to the person
   the paragraph is about.

A speaker mention is a name from people.yml (any alias), a capitalised
name next to a reporting verb, a pronoun (resolved to the nearest earlier
person whose pronoun fits), or I/we (the document's author, if known).
Quotation marks are paired within a paragraph, so a stray or mismatched
mark costs at most that paragraph, never the document. A quotation with no
cue keeps a null speaker: nobody is invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .people import Directory, Person

REPORTING_VERBS = (
    "said says say saying wrote writes write writing told tells tell added adds add explained explains "
    "argued argues argue noted notes note warned warns warn asked asks ask replied replies reply "
    "insisted insists claimed claims continued continues recalled recalls stated states "
    "put puts suggested suggests advised advises concluded concludes observed observes "
    "declared declares admitted admits acknowledged acknowledges emphasized emphasizes "
    "stressed stresses joked jokes tweeted tweets posted posts remarked remarks commented comments"
).split()
_VERB = r"(?:" + "|".join(REPORTING_VERBS) + r")"
_NAME_WORD = r"[A-Z][\w’'\-]*(?:\.[A-Z]\.?)?"
_NAME = rf"{_NAME_WORD}(?:\s+(?:de|van|von|der|da|Le|La)?\s*{_NAME_WORD}){{0,3}}"
_PRONOUN = r"(?:he|she|they|I|we|He|She|They|We)(?=[\s’'])"
# Capitalised words that start sentences but never name a speaker.
_NOT_NAMES = {"The", "A", "An", "This", "That", "These", "Those", "It", "In", "As", "But", "And", "Or", "So",
              "Then", "When", "If", "Let’s", "Let's", "Two", "Three", "One", "Some", "Many", "Most", "Here",
              "There", "What", "Why", "How", "Who", "Example", "Original", "Top", "Link", "From"}
_OPEN = "“\""
_CLOSE = "”\""
MIN_WORDS_WITHOUT_CUE = 4


@dataclass
class Quote:
    quote: str
    start: int  # offsets of the quoted content (marks excluded)
    end: int
    speaker: str | None = None
    speaker_mention: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    cue: str | None = None
    person: Person | None = None
    cites: str | None = None  # a URL near the quotation: the source a second-hand quote cites


def extract_quotes(text: str, directory: Directory, author: str | None = None,
                   links: list[dict] | None = None) -> list[Quote]:
    """Every quotation in ``text`` with its speaker where one can be found.

    ``links`` ({start, end, url} in ``text``) are the page's links, which its
    plain text no longer shows; the first one after a quotation is what it cites.
    """
    author_person = document_author(text, directory, author)
    mentions = _mentions(text, directory)
    quotes = []
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    for index, (p_start, p_end) in enumerate(paragraphs):
        spans = _quote_spans(text, p_start, p_end)
        for start, end in spans:
            quote = Quote(text[start:end].strip(), start, end)
            _attribute(quote, text, p_start, p_end, mentions, directory, author_person)
            if quote.speaker_mention or len(quote.quote.split()) >= MIN_WORDS_WITHOUT_CUE:
                quotes.append(quote)
        if not spans and text[p_start:p_end].rstrip().endswith(":") and index + 1 < len(paragraphs):
            quote = _introduced_paragraph(text, (p_start, p_end), paragraphs[index + 1], mentions, directory, author_person)
            if quote:
                quotes.append(quote)
    for quote in quotes:
        quote.cites = _nearby_url(text, quote.end, links or [])
    return quotes


# -- quotation marks -------------------------------------------------------------------------


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
            opening = c == "“" or (c == '"' and (before.isspace() or before in "([{—–-:") and not after.isspace())
            if opening:
                open_at = i + 1
        else:
            closing = c == "”" or (c == '"' and not before.isspace())
            if closing:
                content_end = i - 1 if text[i - 1] == "," else i  # “Models break,” said …
                if content_end > open_at:
                    spans.append((open_at, content_end))
                open_at = None
            elif c == "“":
                open_at = i + 1  # a new opening before the old one closed: the old one was stray
    if open_at is not None and end - open_at > 1:
        spans.append((open_at, end))
    return spans


# -- people in the text ----------------------------------------------------------------------


@dataclass
class _Mention:
    start: int
    end: int
    text: str
    person: Person


# Words that make a capitalised phrase an organisation or a thing, not a person.
_NOT_PERSON_WORDS = {
    "University", "College", "School", "Institute", "Lab", "Labs", "Laboratory", "Partners", "Inc", "Corp",
    "Company", "Group", "Foundation", "Journal", "Times", "News", "Post", "Review", "Batch", "Learning",
    "Machine", "Intelligence", "Research", "Science", "Data", "Deep", "Network", "Networks", "Specialization",
    "Course", "Courses", "Experience", "Podcast", "Street", "Road", "City", "County", "State", "Department",
    "Ministry", "Council", "Committee", "Agency", "Bank", "Fund", "Capital", "Ventures", "Algebra", "Calculus",
}
_CANDIDATE = re.compile(r"(?<![\w’'])[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){1,2}(?![\w’'])")


def _mentions(text: str, directory: Directory) -> list[_Mention]:
    """People named in the text: people.yml names and aliases, then other
    capitalised two- or three-word names (new people, for pronouns to find)."""
    found = []
    for m in re.finditer(r"(?<!\w)(?:" + directory.names_pattern + r")(?!\w)", text):
        person = directory.find(m.group())
        if person:
            found.append(_Mention(m.start(), m.end(), m.group(), person))
    taken = [(m.start, m.end) for m in found]
    for m in _CANDIDATE.finditer(text):
        name, start = _strip_title(m.group(), m.start())
        words = name.split()
        if (len(words) < 2 or words[0] in _NOT_NAMES or _NOT_PERSON_WORDS & set(words)
                or any(a < m.end() and m.start() < b for a, b in taken)):
            continue
        found.append(_Mention(start, start + len(name), name, Person(name, verified=False)))
    return sorted(found, key=lambda m: m.start)


def document_author(text: str, directory: Directory, author: str | None) -> Person | None:
    """The author as a person: the page's byline/meta/JSON-LD name, else a letter's sign-off."""
    if author:
        first = re.split(r"\s*[;,]\s*|\s+and\s+", author.strip())[0]
        return directory.find(first) or Person(first, verified=False)
    # A letter's sign-off: a lone first name among the last lines ("Keep learning!\nAndrew").
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines[-8:]):
        if re.fullmatch(r"[A-Z][a-z]+", line):
            person = directory.by_signoff(line)
            if person:
                return person
    return None


_TITLES = re.compile(
    r"^(?:(?:Chief|Executive|Officer|Senior|Vice|President|Director|Professor|Prof\.?|Dr\.?|Mr\.?|Mrs\.?|Ms\.?|"
    r"Sir|Dame|CEO|CTO|Founder|Co-founder|Chairman|Chairwoman|Senator|Minister|Governor|Mayor|Judge)\s+)+"
)


def _strip_title(who: str, start: int) -> tuple[str, int]:
    """'Chief Executive Sarah Lin' -> 'Sarah Lin' (and its offset)."""
    m = _TITLES.match(who)
    return (who[m.end():], start + m.end()) if m else (who, start)


def _resolve_name(mention: str, directory: Directory) -> Person:
    person = directory.find(mention)
    if person is None and " " in mention:
        person = directory.find(mention.split()[-1])  # "Professor Koller" -> Koller
    return person or Person(mention, verified=False)


def _nearest(mentions: list[_Mention], before: int, pronoun: str, floor: int) -> _Mention | None:
    fits = {"he": ("he", None), "she": ("she", None), "they": ("they", "he", "she", None)}[pronoun]
    for mention in reversed(mentions):
        if floor <= mention.end <= before and mention.person.pronoun in fits:
            return mention
    return None


# -- attribution ------------------------------------------------------------------------------


def _attribute(quote: Quote, text: str, p_start: int, p_end: int, mentions, directory, author) -> None:
    close = quote.end
    while close < p_end and text[close] in ",”\"":  # past the closing mark (and a comma before it)
        close += 1
    after = text[close:min(p_end, close + 120)]
    open_ = max(quote.start - 1, p_start)
    ends = [m.end() for m in re.finditer(r"[.!?][”\"’)]*\s+", text[p_start:open_])]
    sentence_start = p_start + (ends[-1] if ends else 0)
    before = text[sentence_start:open_]
    rules = [
        (rf"^[,.!?]?\s*(?P<who>{_PRONOUN})\s+(?:\w+\s+)?(?P<cue>{_VERB})\b", after, close),
        (rf"^[,.!?]?\s*(?P<cue>{_VERB})\s+(?:[a-z]+\s+){{0,3}}(?P<who>{_NAME})", after, close),
        (rf"^[,.!?]?\s*(?P<who>{_NAME})\s+(?:\w+\s+)?(?P<cue>{_VERB})\b", after, close),
        (rf"^[,.!?]?\s*(?P<cue>according to)\s+(?P<who>{_NAME})", after, close),
        (rf"(?P<cue>[Aa]ccording to)\s+(?P<who>{_NAME}),?\s*$", before, sentence_start),
        (rf"(?P<who>{_PRONOUN}|{_NAME}),?\s+(?P<cue>{_VERB})\b[^“\"]{{0,40}}[,:]?\s*$", before, sentence_start),
    ]
    for pattern, window, offset in rules:
        m = re.search(pattern, window)
        if m and _set_speaker(quote, m.group("who"), offset + m.start("who"), m.group("cue"), text, mentions, directory, author, p_start):
            return
    # Looser: a pronoun or a known person a few words before the verb ("I’ve sometimes said, “").
    loose = rf"\b(?P<who>{_PRONOUN}|{directory.names_pattern})(?:[’'](?:ve|d|ll))?\s+(?:\w+\s+){{1,3}}?(?P<cue>{_VERB})\b[^“\"]{{0,40}}[,:]?\s*$"
    m = re.search(loose, before)
    if m and _set_speaker(quote, m.group("who"), sentence_start + m.start("who"), m.group("cue"), text, mentions, directory, author, p_start):
        return
    if before.rstrip().endswith(":"):
        # "Watanabe disagreed: “…”" - the sentence's subject introduces the quotation.
        m = re.match(rf"\s*(?P<who>{_NAME})\s+[a-z]+\s*:\s*$", before)
        if m and _set_speaker(quote, m.group("who"), sentence_start + m.start("who"), ":", text, mentions, directory, author, p_start):
            return
        _speaker_of_context(quote, text, p_start, sentence_start, open_, mentions, ":")
        return
    # "“…,” one employee said": a reporting verb but no name; the quotation counts, nobody is invented.
    m = re.match(rf"^[,.!?]?\s*(?P<who>(?:[a-z]+\s+){{1,3}}?)(?P<cue>{_VERB})\b", after)
    if m and m.group("who").split()[0] not in ("and", "but", "so", "which", "that"):
        quote.speaker_mention = m.group("who").strip()
        quote.speaker_start = close + m.start("who")
        quote.speaker_end = quote.speaker_start + len(quote.speaker_mention)
        quote.cue = m.group("cue")


def _set_speaker(quote, who, start, cue, text, mentions, directory, author, p_start) -> bool:
    lowered = who.lower()
    if lowered in ("i", "we"):
        if author is None:
            quote.speaker_mention, quote.speaker_start, quote.speaker_end, quote.cue = who, start, start + len(who), cue
            return True
        person = author
    elif lowered in ("he", "she", "they"):
        nearest = _nearest(mentions, start, lowered, _previous_paragraph_start(text, p_start))
        if nearest is None:
            return False
        person = nearest.person
    else:
        who, start = _strip_title(who, start)
        if not who or who.split()[0] in _NOT_NAMES:
            return False
        person = _resolve_name(who, directory)
        if not person.verified:  # "Hill" after "Mark Hill" is the same person
            person = next((m.person for m in reversed(mentions)
                           if m.start < start and not m.person.verified and m.person.name.endswith(" " + who)),
                          person)
        if not person.verified:  # later pronouns may refer to this new speaker
            mentions.append(_Mention(start, start + len(who), who, person))
            mentions.sort(key=lambda m: m.start)
    quote.person, quote.speaker = person, person.name
    quote.speaker_mention, quote.speaker_start, quote.speaker_end = who, start, start + len(who)
    quote.cue = cue
    return True


def _previous_paragraph_start(text: str, p_start: int) -> int:
    """Start of the non-empty paragraph before the one at p_start (pronouns look back this far)."""
    if p_start == 0:
        return 0
    i = p_start - 1
    while i > 0 and text[i - 1] in "\n \t":
        i -= 1
    return text.rfind("\n", 0, i) + 1


def _speaker_of_context(quote, text, p_start, sentence_start, before_end, mentions, cue) -> None:
    """The person a colon-introduced quotation's sentence (or, failing that, its paragraph) names."""
    for lo in (sentence_start, p_start):
        candidates = [m for m in mentions if lo <= m.start and m.end <= before_end]
        if candidates:
            first = candidates[0]
            quote.person, quote.speaker = first.person, first.person.name
            quote.speaker_mention, quote.speaker_start, quote.speaker_end = first.text, first.start, first.end
            quote.cue = cue
            return


def _introduced_paragraph(text, intro, following, mentions, directory, author) -> Quote | None:
    """``Let’s see what he has to say:`` followed by an unmarked quotation paragraph."""
    i_start, i_end = intro
    f_start, f_end = following
    intro_text = text[i_start:i_end]
    m = re.search(rf"\b(?P<who>{_PRONOUN}|{directory.names_pattern})\s+(?:\w+\s+){{0,3}}?(?P<cue>{_VERB}|has to say|had to say)\b[^:]*:\s*$", intro_text)
    body = text[f_start:f_end].strip()
    if not m or len(body.split()) < 2 or body.endswith(":") or re.match(r"(Example|Link|From)\b", body):
        return None
    quote = Quote(body, f_start, f_start + len(text[f_start:f_end].rstrip()))
    if not _set_speaker(quote, m.group("who"), i_start + m.start("who"), m.group("cue"), text, mentions, directory, author, i_start):
        return None
    return quote


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
