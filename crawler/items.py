"""What the spider hands to the pipeline: an extracted article or a failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Article:
    source: str
    url: str  # canonical URL, one document row per value
    fetched_url: str
    title: str | None
    author: str | None
    published: str | None
    site_name: str | None
    language: str | None
    description: str | None
    text: str
    links: list  # [{start, end, url}]: links kept in the main text, by offset
    etag: str | None = None  # validators for the next run's conditional request
    last_modified: str | None = None
    body_hash: str | None = None  # of the bytes fetched: the same bytes next run are not re-extracted
    media_type: str = "text/html"  # application/pdf for a PDF (crawler/pdf.py)
    pages: list | None = None  # a PDF's page starts: the offset in text where each page begins
    segments: list | None = None  # a transcript's turns: {start, end, speaker, seconds, end_seconds} (transcripts.py)
    media_url: str | None = None  # the recording a transcript or caption file belongs to
    derived: dict | None = None  # a distributed crawl's worker's analysis of it (kb.analysis.derive)


@dataclass
class FetchFailure:
    """A page that could not be fetched or stored; counted as failed with its reason.

    ``kind`` groups failures for the run's error summary ("HTTP 503",
    "timeout", "too large"...); ``reason`` says what happened to this URL.
    """

    source: str | None
    url: str
    reason: str
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = self.reason


@dataclass
class Revisit:
    """A known page that did not need storing: 'unchanged' or 'gone' (404/410).

    Unchanged is ``confirmed`` by the site (a 304, or the same bytes as last
    time: the page's last_fetched moves on) or only claimed (a sitemap or
    feed date older than our copy: nothing was fetched, nothing changes).
    """

    source: str | None
    url: str
    outcome: str
    reason: str  # the HTTP status, recorded as a failure if the page was never stored
    confirmed: bool = True
