"""Reported speech: what someone is said to have said, argued or wanted, without quotation marks.

A reporting verb with a clausal complement (``X argues that …``, ``…, sources said``), ``according to
X, …``, a verb of position with its object or infinitive (``X urged students to …``, ``X called for
…``) or a noun of saying with its owner (``X's claim that …``), outside quotation marks. Reported
speech that quotes some of its words is a partial quotation, a direct statement; reported speech
inside someone else's (``He said Obama hopes that …``) is part of it, not a statement of its own.

``ReportedSpeech`` is a part of kb.analysis.quotes' document: it reads the document's parse (``_tokens``,
``_at``, ``_span_of``) and names speakers through kb.analysis.speakers' ``MentionResolver``.
"""

from __future__ import annotations

import re

from .cues import (
    CLAIM_NOUNS,
    DOCUMENT_NOUNS,
    INDIRECT_LEMMAS,
    INFINITIVE_CUES,
    OBJECT_CUES,
    PREPOSITION_CUES,
    according_to,
    conjuncts,
    interjected,
    reported_clause,
    reporting_lemma,
    sentence_of,
    subjects,
)
from .speakers import GENERIC_SPEAKERS, OTHER
from .statements import DIRECT, INDIRECT, Quote
from .textblocks import QUOTE_MARKS, SPEECH_MIN_WORDS

# Contents that say nothing shown alone: "cited it".
_PRONOUNS = {
    "it",
    "him",
    "her",
    "them",
    "this",
    "that",
    "these",
    "those",
    "so",
    "something",
    "anything",
    "nothing",
    "everything",
    "one",
    "me",
    "us",
    "you",
    "yes",
    "no",
    "otherwise",
    "what",
    "which",
}


class ReportedSpeech:
    """Reported speech and partial quotations of a parsed document (a part of kb.analysis.quotes' _Document)."""

    def _indirect(self, paragraph) -> tuple[list[Quote], list[Quote]]:
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
            if (
                not clause_reported
                and speaker.type == OTHER
                and all(h.tag_ == "NN" and h.lower_ not in DOCUMENT_NOUNS for h in heads)
            ):
                continue  # "A gradient check compares the derivative …": a thing holds no position (a poll may)
            if quoted:
                own = "".join(
                    self.text[x:y] for x, y in zip([start] + [b for _, b in quoted], [a for a, _ in quoted] + [end])
                )
                if len(re.findall(r"\w+", own)) < 3 or any(a < start - 1 or b > end + 1 for a, b in quoted):
                    continue  # the quotation itself is the statement
                terms = all(len(self.text[a:b].split()) < SPEECH_MIN_WORDS for a, b in quoted)
                if terms and not speaker.people and speaker.mention.lower() in GENERIC_SPEAKERS | {"people"}:
                    continue  # "what people call the “relative error”": a term, not anyone's words
                if self.text[end : end + 1] in ("”", '"') and content.count("“") + content.count(
                    '"'
                ) % 2 > content.count("”"):
                    end += 1  # the closing mark the clause's parse left out
                    content = self.text[start:end]
                quote = Quote(content, start, end, kind=DIRECT)
                partial.append(quote)
            elif any(c in content for c in QUOTE_MARKS):
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
        outermost = [
            q for q in partial if not any(o is not q and o.start <= q.start and q.end <= o.end for o in partial)
        ]
        return found, outermost

    def _complement(self, token, lemma: str):
        """What a reporting verb reports, as (first token, last token, whether it is a clause): its clause,
        or the object or infinitive of a verb of position ("urged students to take calculus")."""
        if lemma in INDIRECT_LEMMAS:
            clauses = [c for c in token.children if reported_clause(c)]
            after = [c for c in clauses if c.i > token.i]
            # A clause before the verb is its content only at the end of the sentence ("…, sources said"):
            # "… don’t derive anything – they just tell you facts" is two statements of the writer's.
            before = [
                c
                for c in clauses
                if c.i < token.i
                and not any(g.i > token.i and g.dep_ in ("dobj", "dative", "xcomp", "ccomp") for g in token.children)
            ]
            clause = (after or before or [None])[0]
            if clause is not None:
                return clause.left_edge, clause.right_edge, True
        children = list(token.children)
        infinitive = next(
            (c for c in children if lemma in INFINITIVE_CUES and c.dep_ == "xcomp" and c.tag_ == "VB"), None
        )
        obj = next((c for c in children if c.dep_ == "dobj"), None)
        if infinitive is not None:
            return (
                (obj.left_edge if obj is not None and obj.i < infinitive.i else infinitive.left_edge),
                infinitive.right_edge,
                False,
            )
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

    def _reported_clause(self, token):
        lemma = reporting_lemma(token)
        if lemma is None:
            return None
        heads = subjects(token)
        found = self._complement(token, lemma)
        span, clause_reported = (found[:2], found[2]) if found else (None, True)
        if (
            span is None
            and lemma in INDIRECT_LEMMAS
            and token.dep_ in ("parataxis", "ccomp", "advcl")
            and heads
            and token.head.tag_.startswith("VB")
            and interjected(token)
            and all(c.dep_ in ("nsubj", "advmod", "punct", "npadvmod", "prep") for c in token.children)
        ):
            # "It was, the president said, a stone …": the clause the reporting verb interrupts
            head = token.head
            inner = {t.i for t in token.subtree}
            words = [t for t in head.subtree if t.i not in inner and not t.is_punct]
            if len(words) >= 3 and not self._in_quotation_token(words[0]):
                return (words[0], words[-1]), heads, self._cue_text(token), True
        if span is None and lemma in INDIRECT_LEMMAS and token.dep_ == "relcl" and token.head.dep_ == "nsubj":
            # "One important thing she mentions … is that …": the clause of the verb the relative clause's noun is subject of
            clause = next(
                (c for c in token.head.head.children if c.dep_ in ("ccomp", "attr") and c.tag_.startswith("VB")), None
            )
            span = (clause.left_edge, clause.right_edge) if clause is not None else None
            heads = [c for c in token.children if c.dep_ == "nsubj"]
        if span is None or not heads:
            return None
        return span, heads, self._cue_text(token), clause_reported

    def _claim_noun(self, token):
        """ "Trump's claim that …", "his view that …": a noun of saying with its owner and its clause."""
        if token.lower_ not in CLAIM_NOUNS or not token.tag_.startswith("NN"):
            return None
        owner = next((c for c in token.children if c.dep_ == "poss"), None)
        clause = next(
            (
                c
                for c in token.children
                if c.dep_ in ("acl", "ccomp") and any(g.lower_ == "that" and g.dep_ == "mark" for g in c.children)
            ),
            None,
        )
        if owner is None or clause is None:
            return None
        return (clause.left_edge, clause.right_edge), conjuncts(owner), token.text, True

    def _according_statement(self, token):
        heads = according_to(token)
        if not heads:
            return None
        sentence = sentence_of(token)
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
