"""Spoken sources as text with turns: caption files (WebVTT, SRT) and transcript pages.

A turn is what one speaker says until someone else speaks, with the second
of the recording it starts at. Caption files are read with webvtt-py (it
reads SRT too); a VTT voice tag (``<v Daphne Koller>``) names the speaker,
and the sources file's ``speakers`` names the others (one name for every
cue, or caption labels such as ``NR:`` mapped to names). Transcript pages
are read from the page's extracted text, whose turns start with the
speaker and a timestamp in the common podcast layouts::

    Daphne Koller (00:41:12) The words...      Daphne Koller [41:12]: The words...
    [00:41:12] Daphne Koller: The words...     Daphne Koller (00:41:12)   <- on its own line, words below

The document's text is one paragraph per turn ("Speaker: words", or the
words alone when nobody is named), and its segments say where each turn's
words are in it and when they were said, so passages know their speaker and
time and links open the recording at that moment.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

CAPTION_TYPES = {"text/vtt": "vtt", "application/x-subrip": "srt", "application/srt": "srt", "text/srt": "srt"}
CAPTION_EXTENSIONS = {".vtt": "vtt", ".srt": "srt"}
# Unlabelled captions are cut into paragraphs at a sentence end once this long (characters).
PARAGRAPH_CHARS = 600
# Recordings a transcript page may link to (the links to moments: passage_details.moment_url).
YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")
MEDIA_EXTENSIONS = (".mp3", ".m4a", ".mp4", ".ogg", ".oga", ".opus", ".wav", ".webm", ".aac")

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}"
_NAME = r"[A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3}"
_TURN_HEADERS = (
    re.compile(rf"^(?P<speaker>{_NAME})\s*[(\[](?P<time>{_TIME})[)\]]\s*:?\s*(?P<words>.*)$"),
    re.compile(rf"^[(\[](?P<time>{_TIME})[)\]]\s*(?P<speaker>{_NAME})\s*:\s*(?P<words>.*)$"),
)


class TranscriptError(ValueError):
    """A caption file or transcript page that cannot be read as turns; ``kind`` for crawl_failures."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Turn:
    speaker: str | None
    seconds: int | None  # when it starts, from the start of the recording
    words: str
    end_seconds: int | None = None


def caption_format(url: str, content_type: str) -> str | None:
    """'vtt' or 'srt' for a caption file (by its declared type, else its extension); None otherwise."""
    found = CAPTION_TYPES.get(content_type.lower())
    if found:
        return found
    path = urlsplit(url).path.lower()
    return next((fmt for ext, fmt in CAPTION_EXTENSIONS.items() if path.endswith(ext)), None)


def read_captions(body: bytes, fmt: str, speakers: str | dict[str, str] | None = None) -> list[Turn]:
    """The turns of a VTT or SRT file; TranscriptError when it is not one or a cue is broken."""
    try:
        lines = body.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise TranscriptError("captions are not UTF-8 text", "broken captions") from None
    try:
        captions = webvtt.from_buffer(io.StringIO("\n".join(lines) + "\n"), format=fmt, strict=True)
    except (MalformedCaptionError, MalformedFileError, ValueError, IndexError) as e:
        raise TranscriptError(f"not a readable {fmt.upper()} file: {e}", "broken captions") from None
    turns: list[Turn] = []
    shown: set[str] = set()  # the lines of the cue before
    for caption in captions:
        lines = [" ".join(line.split()) for line in caption.text.splitlines()]
        # Rolling captions (YouTube's automatic ones) show each line again in the next cue.
        words = " ".join(line for line in lines if line and line not in shown)
        shown = set(lines)
        if not words:
            continue
        speaker, words = _speaker_of(caption.voice, words, speakers)
        last = turns[-1] if turns else None
        joins = last is not None and last.speaker == speaker
        if joins and speaker is None and len(last.words) >= PARAGRAPH_CHARS and last.words.endswith((".", "?", "!")):
            joins = False  # unlabelled captions: paragraphs of a readable length
        if joins:
            last.words += " " + words
            last.end_seconds = caption.end_in_seconds
        else:
            turns.append(Turn(speaker, caption.start_in_seconds, words, caption.end_in_seconds))
    if not turns:
        raise TranscriptError(f"no captions in the {fmt.upper()} file", "broken captions")
    return turns


def _speaker_of(voice: str | None, words: str, speakers: str | dict[str, str] | None) -> tuple[str | None, str]:
    """Who says a cue's ``words``: its voice tag, a label the sources file maps ("NR: ..."), or the
    one speaker it names; (speaker, the words without the label)."""
    if voice:
        name = voice.strip()
        return (speakers.get(name, name) if isinstance(speakers, dict) else name), words
    if isinstance(speakers, dict):
        label, colon, rest = words.partition(":")
        if colon and label.strip() in speakers:
            return speakers[label.strip()], rest.strip()
        return None, words
    return speakers, words


def read_transcript(text: str) -> list[Turn]:
    """The turns of a transcript page's extracted text; TranscriptError when no line starts one."""
    turns = [Turn(None, None, "")]  # what the page says before the first turn (an episode's description)
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        header = next((m for pattern in _TURN_HEADERS if (m := pattern.match(line))), None)
        if header:
            turns.append(Turn(header["speaker"], _seconds(header["time"]), header["words"].strip()))
        else:
            turns[-1].words = f"{turns[-1].words} {line}".strip()
    if len(turns) == 1:
        raise TranscriptError("no turns: no line starts with a speaker and a timestamp", "no speaker labels")
    turns = [turn for turn in turns if turn.words]
    for turn, following in zip(turns, turns[1:]):
        if turn.seconds is not None:
            turn.end_seconds = following.seconds
    return turns


def _seconds(timestamp: str) -> int:
    seconds = 0
    for part in timestamp.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def turns_text(turns: list[Turn]) -> tuple[str, list[dict]]:
    """The document's text (one paragraph per turn) and its segments: for each turn, where its
    words are in the text (start, end), who says them and when."""
    parts, segments, offset = [], [], 0
    for turn in turns:
        label = f"{turn.speaker}: " if turn.speaker else ""
        paragraph = label + turn.words
        start = offset + len(label)
        segments.append(
            {
                "start": start,
                "end": offset + len(paragraph),
                "speaker": turn.speaker,
                "seconds": turn.seconds,
                "end_seconds": turn.end_seconds,
            }
        )
        parts.append(paragraph)
        offset += len(paragraph) + 2
    return "\n\n".join(parts), segments


# A podcast feed's transcript links (the Podcasting 2.0 namespace), and which of an episode's to read.
PODCAST_NAMESPACE = "https://podcastindex.org/namespace/1.0"
TRANSCRIPT_PREFERENCE = ("text/vtt", "application/x-subrip", "application/srt", "text/srt", "text/html")


def feed_transcripts(body: bytes) -> list[dict]:
    """Each episode of a podcast feed (RSS) that links a transcript we read: {url (the transcript:
    captions before an HTML page), title, media (its enclosure), published (RFC 822 date)}.
    feedparser keeps one podcast:transcript per item, so the feed is read here with lxml."""
    from lxml import etree

    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return []
    episodes = []
    for item in root.iter("item"):
        links = {
            (element.get("type") or "").lower(): element.get("url")
            for element in item.iter(f"{{{PODCAST_NAMESPACE}}}transcript")
            if element.get("url")
        }
        url = next((links[kind] for kind in TRANSCRIPT_PREFERENCE if kind in links), None)
        if url is None:
            continue
        enclosure = item.find("enclosure")
        episodes.append(
            {
                "url": url.strip(),
                "title": (item.findtext("title") or "").strip() or None,
                "media": media_base(enclosure.get("url")) if enclosure is not None and enclosure.get("url") else None,
                "published": _iso_date(item.findtext("pubDate")),
            }
        )
    return episodes


def _iso_date(rfc822: str | None) -> str | None:
    """An RSS pubDate as the date documents.published holds (YYYY-MM-DD); None when unreadable."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(rfc822.strip()).date().isoformat() if rfc822 and rfc822.strip() else None
    except (TypeError, ValueError):
        return None


def media_link(links: list[dict] | None) -> str | None:
    """The recording a transcript page links to: its first YouTube or audio/video file link."""
    for link in links or []:
        url = link.get("url") or ""
        parts = urlsplit(url)
        if parts.hostname in YOUTUBE_HOSTS or parts.path.lower().endswith(MEDIA_EXTENSIONS):
            return media_base(url)
    return None


def media_base(url: str) -> str:
    """``url`` without a time to start at (``t=``, ``#t=``): the links to moments add their own."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("t="))
    return parts._replace(query=query, fragment="").geturl()
