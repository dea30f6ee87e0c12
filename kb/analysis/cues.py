"""The vocabulary and the parse patterns of attribution: reporting verbs, nouns of saying, and who the
subject of a reporting verb is in spaCy's dependency parse.

kb.analysis.quotes (quotations) and kb.analysis.reported (reported speech) read the parse through these functions;
they take and return spaCy tokens.
"""

from __future__ import annotations

import bisect
import re


def _verb(lemma: str, *irregular: str) -> dict[str, str]:
    """Every form of a regular verb (and its irregular ones) -> lemma."""
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        forms = {lemma, lemma[:-1] + "ies", lemma[:-1] + "ied", lemma + "ing"}
    elif re.search(r"(?:[^aeiou][aeiou][pt]|mit|fer)$", lemma) and lemma not in (
        "visit",
        "edit",
        "credit",
        "limit",
        "offer",
    ):
        forms = {lemma, lemma + "s", lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    else:
        third = lemma + ("es" if re.search(r"(?:s|sh|ch|x|z)$", lemma) else "s")
        forms = {lemma, third, stem + "ed", stem + "ing"}
    return {form: lemma for form in forms | set(irregular)}


# Verbs that report what someone said, wrote or thinks. Indirect speech takes the narrower list.
_REPORTING = [
    ("say", "said", "says", "saying"),
    ("tell", "told"),
    ("write", "wrote", "written", "writing"),
    ("add",),
    ("explain",),
    ("argue",),
    ("note",),
    ("warn",),
    ("claim",),
    ("insist",),
    ("state",),
    ("suggest",),
    ("advise",),
    ("conclude",),
    ("declare",),
    ("admit",),
    ("acknowledge",),
    ("emphasize",),
    ("emphasise",),
    ("stress",),
    ("announce",),
    ("report",),
    ("respond",),
    ("reply",),
    ("agree",),
    ("believe",),
    ("think", "thought"),
    ("contend",),
    ("maintain",),
    ("assert",),
    ("predict",),
    ("estimate",),
    ("deny",),
    ("mention",),
    ("confirm",),
    ("allege",),
    ("testify",),
    ("reveal",),
    ("indicate",),
    ("recommend",),
    ("promise",),
    ("vow",),
    ("pledge",),
    ("fear",),
    ("worry",),
    ("feel", "felt"),
    ("concede",),
    ("counter",),
    ("recall",),
    ("complain",),
    ("observe",),
    ("remark",),
    ("comment",),
    ("tweet",),
    ("post",),
    ("caution",),
    ("urge",),
    ("predict",),
    ("propose",),
    ("point",),
    ("show", "shown"),
    ("find", "found"),
    ("hope",),
    ("expect",),
    ("realize",),
    ("realise",),
    ("answer",),
    ("ask",),
    ("question",),
    ("wonder",),
    ("joke",),
    ("quip",),
    ("muse",),
    ("exclaim",),
    ("shout",),
    ("chant",),
    ("scream",),
    ("yell",),
    ("whisper",),
    ("describe",),
    ("call",),
    ("label",),
    ("dub",),
    ("brand",),
    ("liken",),
    ("recount",),
    ("share",),
    ("continue",),
    ("put",),
    ("disagree",),
    ("sum", "summed", "summing"),
    ("summarize",),
    ("summarise",),
    ("put",),
    ("teach", "taught"),
    ("preach",),
    ("proclaim",),
    ("boast",),
    ("charge",),
    ("accuse",),
    ("criticize",),
    ("criticise",),
    ("praise",),
    ("dismiss",),
    ("insist",),
    ("reiterate",),
    ("echo",),
    ("cite",),
    ("blast",),
    ("slam",),
    ("tout",),
    ("highlight",),
    ("underline",),
    ("underscore",),
    ("stress",),
]
# Verbs whose object or infinitive states a position: "Trump attacked free-trade deals",
# "she plans to run", "protesters called for an inquiry" (reported speech in the wide sense news uses).
OBJECT_CUES = {
    "show",
    "cite",
    "support",
    "attack",
    "mention",
    "question",
    "back",
    "endorse",
    "urge",
    "propose",
    "oppose",
    "report",
    "note",
    "highlight",
    "reject",
    "demand",
    "declare",
    "announce",
    "criticize",
    "criticise",
    "praise",
    "defend",
    "express",
    "deny",
    "condemn",
    "dismiss",
    "blame",
    "reference",
    "acknowledge",
    "welcome",
    "predict",
    "recommend",
    "reveal",
    "confirm",
    "dispute",
    "challenge",
    "tout",
    "applaud",
    "slam",
    "blast",
    "advocate",
    "favor",
    "favour",
    "embrace",
    "decry",
    "denounce",
    "lament",
    "champion",
    "promote",
    "discuss",
    "outline",
    "detail",
    "describe",
    "liken",
    "compare",
    "view",
    "pitch",
    "invoke",
    "document",
    "chronicle",
    "explain",
    "disclose",
    "release",
    "claim",
    "suggest",
    "credit",
    "mock",
    "ridicule",
}
INFINITIVE_CUES = {
    "want",
    "plan",
    "refuse",
    "seek",
    "vow",
    "pledge",
    "promise",
    "agree",
    "decide",
    "encourage",
    "urge",
    "tell",
    "propose",
    "threaten",
    "intend",
    "offer",
    "aim",
    "ask",
    "demand",
    "warn",
    "hope",
    "expect",
    "call",
    "decline",
    "advise",
    "push",
    "press",
    "implore",
    "persuade",
    "prefer",
    "like",
}
PREPOSITION_CUES = {
    ("call", "for"),
    ("call", "on"),
    ("speak", "of"),
    ("speak", "about"),
    ("talk", "about"),
    ("warn", "of"),
    ("warn", "about"),
    ("warn", "against"),
    ("respond", "to"),
    ("complain", "about"),
    ("argue", "for"),
    ("argue", "against"),
    ("push", "for"),
    ("advocate", "for"),
    ("insist", "on"),
    ("comment", "on"),
    ("write", "about"),
    ("joke", "about"),
    ("testify", "about"),
    ("speak", "out"),
    ("rail", "against"),
    ("ask", "about"),
    ("accuse", "of"),
    ("blame", "for"),
    ("point", "to"),
    ("brag", "about"),
    ("boast", "about"),
    ("refer", "to"),
    ("vote", "against"),
    ("vote", "for"),
    ("criticize", "for"),
    ("praise", "for"),
    ("advise", "against"),
    ("caution", "against"),
}
_REPORTING += [(lemma,) for lemma in sorted(OBJECT_CUES | INFINITIVE_CUES | {v for v, _ in PREPOSITION_CUES})]
_REPORTING += [
    ("seek", "sought"),
    ("speak", "spoke", "spoken"),
    ("talk",),
    ("rail",),
    ("threaten",),
    ("intend",),
    ("aim",),
    ("decline",),
    ("push",),
    ("press",),
    ("implore",),
    ("persuade",),
    ("prefer",),
    ("like",),
    ("outline",),
    ("detail",),
    ("view",),
    ("pitch",),
    ("invoke",),
    ("document",),
    ("chronicle",),
    ("disclose",),
    ("release",),
    ("credit",),
    ("mock",),
    ("ridicule",),
    ("brag",),
    ("refer",),
    ("vote",),
    ("discuss",),
    ("compare",),
    ("read", "reads", "reading"),
]
CUE_FORMS: dict[str, str] = {}
for _entry in _REPORTING:
    CUE_FORMS.update(_verb(*_entry))
INDIRECT_LEMMAS = {
    "say",
    "tell",
    "write",
    "add",
    "explain",
    "argue",
    "note",
    "warn",
    "claim",
    "insist",
    "state",
    "suggest",
    "advise",
    "conclude",
    "declare",
    "admit",
    "acknowledge",
    "emphasize",
    "emphasise",
    "stress",
    "announce",
    "report",
    "respond",
    "agree",
    "believe",
    "think",
    "contend",
    "maintain",
    "assert",
    "predict",
    "estimate",
    "deny",
    "mention",
    "confirm",
    "allege",
    "testify",
    "reveal",
    "indicate",
    "recommend",
    "promise",
    "vow",
    "pledge",
    "fear",
    "worry",
    "feel",
    "concede",
    "counter",
    "recall",
    "complain",
    "observe",
    "remark",
    "tweet",
    "post",
    "caution",
    "urge",
    "propose",
    "point",
    "show",
    "find",
    "hope",
    "expect",
    "realize",
    "realise",
    "reiterate",
    "highlight",
    "underline",
    "underscore",
    "boast",
    "charge",
    "accuse",
    "answer",
    "reply",
    "proclaim",
    "ask",
    "question",
    "wonder",
}
# Nouns for what someone said, for "In his words, “…”", "Hinton's advice:" and "That's the advice from X".
SPEECH_NOUNS = {
    "words",
    "word",
    "advice",
    "message",
    "statement",
    "remark",
    "remarks",
    "answer",
    "response",
    "reply",
    "comment",
    "comments",
    "view",
    "views",
    "verdict",
    "gist",
    "quote",
    "tweet",
    "post",
    "explanation",
    "argument",
    "point",
    "reaction",
    "vision",
    "take",
    "opinion",
    "thoughts",
    "thought",
    "tip",
    "tips",
    "recommendation",
    "suggestion",
    "warning",
    "conclusion",
    "claim",
    "assessment",
    "summary",
    "motto",
    "mantra",
    "philosophy",
    "line",
    "gem",
    "lesson",
    "lessons",
    "insight",
    "insights",
    "wisdom",
    "saying",
}
# Things that speak for their authors: "a statement saying …", "the letter reads".
DOCUMENT_NOUNS = {
    "statement",
    "statements",
    "letter",
    "letters",
    "report",
    "reports",
    "tweet",
    "tweets",
    "post",
    "posts",
    "ad",
    "ads",
    "advertisement",
    "email",
    "emails",
    "memo",
    "release",
    "document",
    "documents",
    "study",
    "studies",
    "article",
    "paper",
    "survey",
    "poll",
    "message",
    "note",
    "video",
    "filing",
    "complaint",
    "lawsuit",
    "ruling",
    "order",
    "op-ed",
    "editorial",
    "column",
    "blog",
    "book",
    "speech",
    "petition",
}
# Nouns whose owner states the clause after them: "Trump's claim that …".
CLAIM_NOUNS = {
    "claim",
    "claims",
    "assertion",
    "argument",
    "view",
    "belief",
    "suggestion",
    "warning",
    "allegation",
    "statement",
    "contention",
    "insistence",
    "promise",
    "pledge",
    "prediction",
    "position",
    "assessment",
    "conclusion",
    "admission",
    "acknowledgment",
    "acknowledgement",
    "charge",
    "complaint",
    "hope",
    "fear",
    "point",
    "message",
    "observation",
    "remark",
    "answer",
    "response",
    "reply",
    "report",
    "finding",
    "findings",
    "estimate",
    "theory",
    "idea",
    "opinion",
    "proposal",
    "recommendation",
    "advice",
}
# Words that refer to people named together: "LeCun and Quiñonero Candela … The pair urged …".
GROUP_WORDS = {"they", "them", "their", "pair", "duo", "two", "both"}


def reporting_lemma(token) -> str | None:
    """The lemma of a reporting verb (said -> say), or None for any other token."""
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


def conjuncts(token) -> list:
    return [token, *token.conjuncts]


def subjects(verb, depth: int = 0, skip: frozenset = frozenset()) -> list:
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
            return conjuncts(child)
        if child.dep_ == "agent":  # "was told by X"
            objects = [c for c in child.children if c.dep_ == "pobj"]
            return conjuncts(objects[0]) if objects else []
    if depth > 3 or imperative(verb) or (verb.tag_ in ("VBN", "VBD") and verb.dep_ == "advcl"):
        return []  # "Think about this: …"; "Asked what she would tell newcomers, …" (she was asked)
    if verb.dep_ in ("advcl", "xcomp", "conj", "pcomp", "ccomp") and verb.head.i != verb.i:
        for ancestor in verb.ancestors:  # "…, saying “…”": the subject of the clause that says it
            if reporting_lemma(ancestor):
                found = subjects(ancestor, depth + 1, skip)
                if found:
                    return found
        if (
            verb.dep_ == "ccomp"
            or verb.head.lower_ == "worth"
            or (verb.tag_ == "VB" and any(a.tag_ == "JJ" for a in verb.ancestors))
        ):
            return []  # "able to read a rule, estimate what …", "it’s worth asking …": nobody in particular
        # "He pitched himself by telling them that …": the nearest clause above with a subject
        verbs = [a for a in verb.ancestors if a.tag_.startswith("VB")]
        return subjects(verbs[0], depth + 1, skip) if verbs else []
    if verb.dep_ == "acl" and verb.head.lower_ in DOCUMENT_NOUNS:  # "a statement saying …"
        return [verb.head]
    return []


def sentence_of(token):
    """``token.sent``, which spaCy finds by walking the document each time; cached per document."""
    doc = token.doc
    cached = doc.user_data.get("kb_sentences")
    if cached is None:
        sentences = list(doc.sents)
        cached = doc.user_data["kb_sentences"] = ([s.start for s in sentences], sentences)
    starts, sentences = cached
    return sentences[bisect.bisect_right(starts, token.i) - 1]


def entity_of(token):
    """The named entity ``token`` is part of, or None (spaCy rebuilds ``doc.ents`` on every access)."""
    if not token.ent_type_:
        return None
    doc = token.doc
    entities = doc.user_data.get("kb_entities")
    if entities is None:
        entities = doc.user_data["kb_entities"] = list(doc.ents)
    return next((e for e in entities if e.start <= token.i < e.end), None)


def imperative(verb) -> bool:
    """ "Think about this: …", "Importantly, note that …": a base-form verb opening its sentence speaks to the reader."""
    if verb.tag_ != "VB" or any(c.dep_ in ("aux", "auxpass", "nsubj") for c in verb.children):
        return False
    sentence = sentence_of(verb)
    opening = [t for t in sentence if not (t.is_punct or t.dep_ == "advmod" and t.head.i == verb.i)]
    return bool(opening) and opening[0].i == verb.i


def interjected(verb) -> bool:
    """ "It was, the president said, a stone …": the verb's clause set off by commas inside another."""
    words = [t for t in verb.subtree if not t.is_punct]
    doc = verb.doc
    first, last = words[0].i, words[-1].i
    before = doc[first - 1].text if first > 0 else ""
    after = doc[last + 1].text if last + 1 < len(doc) else "."
    return before == "," and after in (",", ".", ";")


def reported_clause(clause) -> bool:
    """A clause a reporting verb can report: a clausal complement with a subject, "that" or a wh-word
    ("I found this in a thread … getting sued" is not one)."""
    if clause.dep_ == "advcl":
        return any(g.lower_ == "that" and g.dep_ in ("mark", "advmod") for g in clause.children)
    return clause.dep_ == "ccomp" and any(
        g.dep_ in ("nsubj", "nsubjpass", "expl", "mark", "csubj") or g.tag_ in ("WDT", "WP", "WRB")
        for g in clause.children
    )


def according_to(token):
    """For the token 'according' of 'according to X', X's head tokens."""
    if token.lower_ != "according":
        return None
    for child in token.children:
        if child.lower_ == "to":
            objects = [c for c in child.children if c.dep_ == "pobj"]
            if objects:
                return conjuncts(objects[0])
    return None


def last_run(tokens: list, head) -> list:
    """The contiguous run of tokens ending at ``head``."""
    run = []
    for token in reversed(tokens):
        if run and token.i != run[0].i - 1:
            break
        run.insert(0, token)
    return run or [head]
