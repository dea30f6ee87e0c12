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


@dataclass
class FetchFailure:
    """A page that could not be fetched or stored; counted as failed with its reason."""

    source: str | None
    url: str
    reason: str


@dataclass
class Revisit:
    """A known page that did not need storing: 'unchanged' (304) or 'gone' (404/410)."""

    source: str | None
    url: str
    outcome: str
    reason: str  # the HTTP status, recorded as a failure if the page was never stored
