"""The sources file: which sites to crawl and which of their pages are articles.

A sources file is YAML edited by hand, so every mistake in it is reported
with the file name and line before a single request is sent::

    user_agent: "math-ml-kb (+https://example.org/contact)"   # optional
    download_delay: 1.0                                        # optional, seconds
    download_timeout: 30                                       # optional, seconds per page
    pdf_max_mb: 10           # optional limits on PDFs: size, pages, seconds of text extraction
    pdf_max_pages: 500
    pdf_max_seconds: 30
    sources:
      - name: the-batch
        start_urls: [https://www.deeplearning.ai/the-batch/]
        sitemaps: []        # optional; robots.txt sitemaps are always used too
        feeds: []           # optional RSS/Atom feeds
        allow: ['/the-batch/[^/]+/$']   # URL regexes for article pages
        deny: ['/tag/']     # URL regexes never fetched
        max_depth: 2        # link hops from a start URL, sitemap or feed entry
        max_pages: 500      # pages fetched per run at most (start URLs always are)
        robots_sitemaps: true   # also read the sitemaps robots.txt announces
        focus: true         # follow links of pages relevant to the question first (relevance.yml)
        min_relevance: 0.2  # do not follow the links of pages scoring below this (implies focus)
      - name: koller-interview
        type: transcript    # optional: podcast transcripts (captions: VTT or SRT files, or video pages; hn, reddit: threads)
        start_urls: [https://example.org/podcast/koller-transcript]
        media: https://www.youtube.com/watch?v=...   # optional: the recording, for links to a moment
        speakers: Naval Ravikant   # optional, captions: who speaks unlabelled cues (or {NR: Naval Ravikant})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kb.yamlfile import Mapping as _Mapping
from kb.yamlfile import Sequence as _Sequence
from kb.yamlfile import load_yaml, unknown_key_message

DEFAULT_USER_AGENT = "math-ml-kb/0.1 (research crawler; set user_agent in the sources file)"
DEFAULT_DOWNLOAD_DELAY = 1.0
DEFAULT_DOWNLOAD_TIMEOUT = 30.0
DEFAULT_MAX_DEPTH = 2
DEFAULT_MAX_PAGES = 1000
DEFAULT_PDF_MAX_MB = 10.0
DEFAULT_PDF_MAX_PAGES = 500
DEFAULT_PDF_MAX_SECONDS = 30.0

TOP_LEVEL_KEYS = (
    "sources",
    "user_agent",
    "download_delay",
    "download_timeout",
    "pdf_max_mb",
    "pdf_max_pages",
    "pdf_max_seconds",
)
SOURCE_KEYS = (
    "name",
    "start_urls",
    "sitemaps",
    "feeds",
    "allow",
    "deny",
    "max_depth",
    "max_pages",
    "robots_sitemaps",
    "focus",
    "min_relevance",
    "type",
    "media",
    "speakers",
    "max_comments",
)
# What a source's pages are (crawler/transcripts.py for the spoken ones, crawler/threads.py for
# discussion threads); None: articles.
SOURCE_TYPES = ("transcript", "captions", "hn", "reddit")
THREAD_TYPES = ("hn", "reddit")
DEFAULT_MAX_COMMENTS = 5000
URL_LIST_KEYS = ("start_urls", "sitemaps", "feeds")
REGEX_LIST_KEYS = ("allow", "deny")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SourcesError(ValueError):
    """A sources file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Source:
    """One site (or a few related hosts) and the rules for crawling it."""

    name: str
    start_urls: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_depth: int = DEFAULT_MAX_DEPTH
    max_pages: int = DEFAULT_MAX_PAGES
    robots_sitemaps: bool = True
    # Focused crawling (crawler/spiders/articles.py): links of pages relevant to
    # the question are followed first; below min_relevance not at all.
    focus: bool = False
    min_relevance: float | None = None
    # Spoken sources: transcript pages or caption files, the recording they belong to, and who
    # speaks in captions that do not say (one name, or caption labels -> names).
    type: str | None = None
    media: str | None = None
    speakers: str | tuple[tuple[str, str], ...] | None = None
    max_comments: int = DEFAULT_MAX_COMMENTS  # a thread's comments kept, the earliest
    _allow_re: tuple[re.Pattern, ...] = field(default=(), repr=False, compare=False)
    _deny_re: tuple[re.Pattern, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow_re", tuple(re.compile(p) for p in self.allow))
        object.__setattr__(self, "_deny_re", tuple(re.compile(p) for p in self.deny))

    @property
    def hosts(self) -> frozenset[str]:
        """Hosts (with their port, if not the default) named in this source.

        Only these are ever fetched for it: naming 127.0.0.1:8000 does not
        open 127.0.0.1's other ports.
        """
        return frozenset(host_of(u) for u in self.start_urls + self.sitemaps + self.feeds)

    def owns(self, url: str) -> bool:
        return host_of(url) in self.hosts

    def type_of(self, url: str) -> str | None:
        """What the page at ``url`` is: the source's ``type``, else what its URL says (a Hacker News
        item of Algolia's API, a Reddit thread's .json, a caption file); None for an ordinary page."""
        if self.type:
            return self.type
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path.lower()
        if host == "hn.algolia.com" and path.startswith("/api/v1/items/"):
            return "hn"
        if (host == "reddit.com" or host.endswith(".reddit.com")) and path.endswith(".json"):
            return "reddit"
        return "captions" if path.endswith((".vtt", ".srt")) else None

    def is_denied(self, url: str) -> bool:
        return any(p.search(url) for p in self._deny_re)

    def is_article(self, url: str) -> bool:
        """An article page is stored; other pages are only read for links.

        A PDF or caption file is always an article (unless denied): ``allow``
        tells articles from listing pages, and they list nothing. One served from a URL
        that does not say so is recognised by its bytes (crawler/pdf.py).
        """
        if self.is_denied(url) or not self.owns(url):
            return False
        if urlsplit(url).path.lower().endswith((".pdf", ".vtt", ".srt")):
            return True
        return not self._allow_re or any(p.search(url) for p in self._allow_re)


@dataclass(frozen=True)
class CrawlConfig:
    sources: tuple[Source, ...]
    user_agent: str = DEFAULT_USER_AGENT
    download_delay: float = DEFAULT_DOWNLOAD_DELAY
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT
    pdf_max_mb: float = DEFAULT_PDF_MAX_MB
    pdf_max_pages: int = DEFAULT_PDF_MAX_PAGES
    pdf_max_seconds: float = DEFAULT_PDF_MAX_SECONDS
    path: str = "<string>"

    @property
    def names_contact(self) -> bool:
        """Whether the User-Agent gives site owners a way to reach us (a URL or an e-mail address)."""
        return bool(re.search(r"https?://|[\w.+-]+@[\w-]+\.", self.user_agent))

    @property
    def hosts(self) -> frozenset[str]:
        """Every host (with its port) some source names: the only ones ever fetched."""
        return frozenset().union(*(s.hosts for s in self.sources))

    @property
    def hostnames(self) -> frozenset[str]:
        """Host names without ports, as Scrapy's allowed_domains wants them."""
        return frozenset(urlsplit(url).hostname for s in self.sources for url in s.start_urls + s.sitemaps + s.feeds)

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


def host_of(url: str) -> str:
    """'host' or 'host:port' of a URL, lowercased, default ports dropped; an IPv6
    address keeps its brackets ('[::1]:8080', not the address '::1:8080')."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port and port != {"http": 80, "https": 443}.get(parts.scheme):
        return f"{host}:{port}"
    return host


def load_sources(path: str | Path) -> CrawlConfig:
    """Read and check a sources file; raises SourcesError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SourcesError(f"{path}: cannot read sources file: {e}") from None
    return parse_sources(text, str(path))


def parse_sources(text: str, path: str = "<string>") -> CrawlConfig:
    try:
        data = load_yaml(text, path)
    except ValueError as e:
        raise SourcesError(str(e)) from None
    return _Checker(path).config(data)


class _Checker:
    """Turns the loaded YAML into a CrawlConfig, or raises with file:line."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int | None, message: str) -> SourcesError:
        where = f"{self.path}:{line}" if line else self.path
        return SourcesError(f"{where}: {message}")

    def config(self, data) -> CrawlConfig:
        if not isinstance(data, _Mapping):
            raise self.fail(getattr(data, "line", 1), "expected a mapping with a 'sources:' list")
        self.unknown_keys(data, TOP_LEVEL_KEYS, "top level")
        if "sources" not in data:
            raise self.fail(data.line, "missing 'sources:' list")
        entries = data["sources"]
        if not isinstance(entries, _Sequence) or not entries:
            raise self.fail(data.key_lines["sources"], "'sources' must be a non-empty list")
        sources = [self.source(entry, line) for entry, line in zip(entries, entries.lines)]
        seen: dict[str, int] = {}
        for source, line in zip(sources, entries.lines):
            if source.name in seen:
                raise self.fail(line, f"duplicate source name '{source.name}' (first on line {seen[source.name]})")
            seen[source.name] = line
        options = {}
        if "user_agent" in data:
            ua = data["user_agent"]
            if not isinstance(ua, str) or not ua.strip():
                raise self.fail(data.key_lines["user_agent"], "'user_agent' must be a non-empty string")
            options["user_agent"] = ua.strip()
        if "download_delay" in data:
            delay = data["download_delay"]
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
                raise self.fail(data.key_lines["download_delay"], "'download_delay' must be a number of seconds >= 0")
            options["download_delay"] = float(delay)
        # Positive limits: (key, type, what the error says it must be).
        for key, kind, what in (
            ("download_timeout", float, "a number of seconds > 0"),
            ("pdf_max_mb", float, "a number > 0"),
            ("pdf_max_pages", int, "a whole number > 0"),
            ("pdf_max_seconds", float, "a number > 0"),
        ):
            if key in data:
                value = data[key]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or value <= 0
                    or (kind is int and not isinstance(value, int))
                ):
                    raise self.fail(data.key_lines[key], f"'{key}' must be {what}")
                options[key] = kind(value)
        return CrawlConfig(sources=tuple(sources), path=self.path, **options)

    def source(self, entry, line: int) -> Source:
        if not isinstance(entry, _Mapping):
            raise self.fail(line, "each source must be a mapping with at least 'name' and 'start_urls'")
        self.unknown_keys(entry, SOURCE_KEYS, "source")
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise self.fail(
                entry.key_lines.get("name", entry.line),
                "source needs a 'name' of letters, digits, '-', '_' or '.'",
            )
        fields: dict = {"name": name}
        for key in URL_LIST_KEYS:
            fields[key] = self.url_list(entry, key, name)
        for key in REGEX_LIST_KEYS:
            fields[key] = self.regex_list(entry, key, name)
        if not (fields["start_urls"] or fields["sitemaps"] or fields["feeds"]):
            raise self.fail(entry.line, f"source '{name}' needs at least one of start_urls, sitemaps or feeds")
        if "max_depth" in entry:
            depth = entry["max_depth"]
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
                raise self.fail(
                    entry.key_lines["max_depth"], f"source '{name}': 'max_depth' must be a whole number >= 0"
                )
            fields["max_depth"] = depth
        if "max_pages" in entry:
            pages = entry["max_pages"]
            if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
                raise self.fail(
                    entry.key_lines["max_pages"], f"source '{name}': 'max_pages' must be a whole number >= 1"
                )
            fields["max_pages"] = pages
        if "robots_sitemaps" in entry:
            if not isinstance(entry["robots_sitemaps"], bool):
                raise self.fail(
                    entry.key_lines["robots_sitemaps"], f"source '{name}': 'robots_sitemaps' must be true or false"
                )
            fields["robots_sitemaps"] = entry["robots_sitemaps"]
        if "focus" in entry:
            if not isinstance(entry["focus"], bool):
                raise self.fail(entry.key_lines["focus"], f"source '{name}': 'focus' must be true or false")
            fields["focus"] = entry["focus"]
        if "min_relevance" in entry:
            minimum = entry["min_relevance"]
            if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
                raise self.fail(
                    entry.key_lines["min_relevance"], f"source '{name}': 'min_relevance' must be a number from 0 to 1"
                )
            if fields.get("focus") is False:
                raise self.fail(
                    entry.key_lines["min_relevance"],
                    f"source '{name}': 'min_relevance' needs focus (remove 'focus: false')",
                )
            fields.update(focus=True, min_relevance=float(minimum))
        fields.update(self.spoken(entry, name))
        return Source(**fields)

    def spoken(self, entry, name: str) -> dict:
        """``type``, ``media`` and ``speakers`` of a source."""
        fields = {}
        if entry.get("type") is not None:
            if entry["type"] not in SOURCE_TYPES:
                raise self.fail(
                    entry.key_lines["type"], f"source '{name}': 'type' must be one of {', '.join(SOURCE_TYPES)}"
                )
            fields["type"] = entry["type"]
        if entry.get("media") is not None:
            media = entry["media"]
            parts = urlsplit(media) if isinstance(media, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise self.fail(
                    entry.key_lines["media"], f"source '{name}': 'media' must be the http(s) URL of a recording"
                )
            fields["media"] = media.strip()
        if "max_comments" in entry:
            most = entry["max_comments"]
            if fields.get("type") not in THREAD_TYPES:
                raise self.fail(
                    entry.key_lines["max_comments"], f"source '{name}': 'max_comments' is for hn and reddit"
                )
            if isinstance(most, bool) or not isinstance(most, int) or most < 1:
                raise self.fail(
                    entry.key_lines["max_comments"], f"source '{name}': 'max_comments' must be a whole number >= 1"
                )
            fields["max_comments"] = most
        if entry.get("speakers") is not None:
            speakers, line = entry["speakers"], entry.key_lines["speakers"]
            if fields.get("type") != "captions":
                raise self.fail(line, f"source '{name}': 'speakers' is for captions (add 'type: captions')")
            if isinstance(speakers, str) and speakers.strip():
                fields["speakers"] = speakers.strip()
            elif (
                isinstance(speakers, _Mapping)
                and speakers
                and all(
                    isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in speakers.items()
                )
            ):
                fields["speakers"] = tuple((k.strip(), v.strip()) for k, v in speakers.items())
            else:
                raise self.fail(line, f"source '{name}': 'speakers' must be a name, or caption labels mapped to names")
        return fields

    def string_list(self, entry, key: str, name: str) -> list[tuple[str, int]]:
        if key not in entry or entry[key] is None:
            return []
        value = entry[key]
        key_line = entry.key_lines[key]
        if not isinstance(value, _Sequence):
            raise self.fail(key_line, f"source '{name}': '{key}' must be a list (use [ ... ] or '- ' items)")
        items = []
        for item, line in zip(value, value.lines):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(line, f"source '{name}': every entry of '{key}' must be a non-empty string")
            items.append((item.strip(), line))
        return items

    def url_list(self, entry, key: str, name: str) -> tuple[str, ...]:
        urls = []
        for url, line in self.string_list(entry, key, name):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise self.fail(line, f"source '{name}': '{url}' in '{key}' is not an http(s) URL")
            urls.append(url)
        return tuple(urls)

    def regex_list(self, entry, key: str, name: str) -> tuple[str, ...]:
        patterns = []
        for pattern, line in self.string_list(entry, key, name):
            try:
                re.compile(pattern)
            except re.error as e:
                raise self.fail(line, f"source '{name}': '{pattern}' in '{key}' is not a valid regex: {e}") from None
            patterns.append(pattern)
        return tuple(patterns)

    def unknown_keys(self, mapping: _Mapping, allowed: tuple[str, ...], where: str) -> None:
        for key, line in mapping.key_lines.items():
            if key not in allowed:
                raise self.fail(line, unknown_key_message(key, allowed, where))
