"""A statement: what was said, where in the text, and by whom. The record kb.analysis.quotes, kb.analysis.reported and
kb.analysis.speakers pass around, and kb.analysis.analyze stores in the quotes table."""

from __future__ import annotations

from dataclasses import dataclass

from .people import Person
from .speakers import Speaker

DIRECT, INDIRECT = "direct", "indirect"
# A turn of a transcript or caption file (crawler/transcripts.py): what its speaker said, or asked.
SPOKEN, QUESTION = "spoken", "question"
# A comment of a discussion thread (crawler/threads.py), by its author's handle.
COMMENT = "comment"


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
