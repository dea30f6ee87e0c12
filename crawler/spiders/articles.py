"""The one spider: discovers article pages of every source and extracts them.

Discovery, per source:
- start URLs, sitemaps and feeds listed in the sources file;
- sitemaps announced in each host's robots.txt (unless robots_sitemaps: false,
  for a big site of which the source wants a few pages);
- links on fetched pages, within the source's hosts, up to ``max_depth``
  hops from a start URL, sitemap entry or feed entry.

A fetched page whose URL matches the source's ``allow`` rules (and none of
its ``deny`` rules) is an article: it is extracted and handed to the
pipeline. Other pages are only read for links. A PDF (by its declared type
or by its bytes) is always an article unless denied, and is extracted by
crawler/pdf.py within the sources file's PDF limits. Anything that goes wrong
with a page becomes a FetchFailure item with its reason, and the crawl goes on.

Focused sources (``focus``, ``min_relevance`` in the sources file) score each
article they extract for relevance to the knowledge base's question
(kb/analysis/relevance.py, the score `kb analyze` stores): its links are queued with a
priority that grows with the score, so relevant pages' links are fetched
first, and below ``min_relevance`` they are not followed at all (counted as
low relevance). Start URLs are always fetched, first, whatever their score.

Re-crawls are cheap: a page stored before is requested with its ETag and
Last-Modified (a 304 is a no-op), its bytes are compared with last time's
before anything is extracted, and a sitemap or feed date older than our copy
skips the request altogether (dates are hints: a date in the future is not
believed, a page is fetched again after KB_REVISIT_AFTER_DAYS anyway, and a
sample of the pages a date skips is requested to check it: crawler/hints.py).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import feedparser
import scrapy
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    StopDownload,
)
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from embeddings.chunking import split_passages
from embeddings.model import load_token_counter
from kb import storage
from kb.analysis.relevance import DEFAULT_RELEVANCE_FILE, RelevanceScorer, document_score, load_relevance

from ..extract import ExtractionError, extract_page, looks_binary
from ..hints import HintTrust
from ..items import Article, FetchFailure, Revisit
from ..middlewares import OffsiteRedirect, RefusedRequest, TooLarge, retry_after_seconds
from ..pdf import PdfError, extract_pdf, looks_like_pdf
from ..sources import THREAD_TYPES, CrawlConfig, Source, load_sources
from ..threads import read_thread, thread_text
from ..transcripts import (
    CAPTION_TYPES,
    TranscriptError,
    caption_format,
    feed_transcripts,
    media_link,
    read_captions,
    read_transcript,
    turns_text,
)
from ..urls import normalize_url, trap_reason, url_key
from ..video import find_captions

# Start URLs are listed by hand: fetched before any discovered link. Links
# get 100 x (page relevance - threshold): -100..100, 0 for an unscored page.
PRIORITY_LISTED = 1000
# Content types read as pages, as PDFs, or downloaded to see whether the bytes
# are a PDF; anything else is not downloaded past its headers.
PAGE_TYPES = (b"text/html", b"application/xhtml+xml")
PDF_TYPES = (b"application/pdf", b"application/x-pdf")
MAYBE_PDF_TYPES = (b"application/octet-stream", b"binary/octet-stream")
# Caption files, read for spoken sources (type captions or transcript); SRT is often served as text/plain.
CAPTION_TYPES_BYTES = tuple(t.encode() for t in CAPTION_TYPES)
# Exceptions of a failed download, as the kind of failure a run summary counts.
FAILURE_KINDS = (
    (DownloadTimeoutError, "timeout"),
    (DownloadCancelledError, "too large"),
    ((ResponseDataLossError, ConnectionLost, ConnectionDone, DownloadFailedError), "connection lost"),
    ((DownloadConnectionRefusedError, ConnectError), "cannot connect"),
    (CannotResolveHostError, "DNS lookup failed"),
)


class ArticlesSpider(scrapy.Spider):
    name = "articles"

    def __init__(self, config: CrawlConfig | None = None, sources: str = "sources.yml", **kwargs):
        """``config`` from `kb crawl`; `scrapy crawl articles -a sources=FILE` names the sources file."""
        super().__init__(**kwargs)
        self.config = config if config is not None else load_sources(sources)
        self.allowed_domains = sorted(config.hostnames)
        # Scrapy's link extractor skips links to .pdf files by default; PDFs are articles here.
        deny_extensions = [e for e in IGNORED_EXTENSIONS if e != "pdf"]
        self.link_extractors = {
            s.name: LinkExtractor(deny=s.deny, unique=True, deny_extensions=deny_extensions) for s in config.sources
        }
        self.pages_requested: dict[str, int] = {}
        self.known: dict[str, dict] = {}
        self.handled: set[str] = set()  # url_key of pages requested, or skipped by date, this run
        self.hints: dict[str, HintTrust] = {}  # per source: are its sitemap and feed dates right?
        self._scorer: RelevanceScorer | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        if crawler.settings.get("KB_SOURCES_FILE") is None:  # `scrapy crawl`: the sources file sets politeness
            from ..run import sources_settings

            crawler.settings.setdict(sources_settings(spider.config, crawler.settings), priority="spider")
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        return spider

    async def start(self):
        self.known = self.load_known_pages()
        self.revisit_after = timedelta(days=self.settings.getfloat("KB_REVISIT_AFTER_DAYS"))
        every = self.settings.getint("KB_HINT_CHECK_EVERY")
        self.hints = {source.name: HintTrust(every) for source in self.config.sources}
        if not self.seeds_the_frontier():
            return
        for request in self.start_requests_for_config():
            yield request

    def seeds_the_frontier(self) -> bool:
        """Whether this crawl starts from the sources' start URLs (a distributed worker may not)."""
        return True

    def load_known_pages(self) -> dict[str, dict]:
        """What earlier runs stored per fetched URL (validators, body hash, last fetch):
        cross-run state lives in SQLite."""
        path = self.settings.get("KB_DB")
        try:
            db = storage.connect(path)
        except storage.StorageError:
            return {}
        try:
            return storage.known_pages(db)
        finally:
            db.close()

    def start_requests_for_config(self) -> Iterator[scrapy.Request]:
        robots_hosts: dict[str, list[str]] = {}
        for source in self.config.sources:
            if not source.robots_sitemaps:
                continue
            for url in source.start_urls + source.sitemaps + source.feeds:
                parts = urlsplit(url)
                names = robots_hosts.setdefault(f"{parts.scheme}://{parts.netloc}/robots.txt", [])
                if source.name not in names:
                    names.append(source.name)
        for robots_url, names in robots_hosts.items():
            yield scrapy.Request(robots_url, self.parse_robots, errback=self.robots_error, meta={"kb_sources": names})
        for source in self.config.sources:
            for url in source.sitemaps:
                yield self.sitemap_request(url, [source.name])
            for url in source.feeds:
                yield scrapy.Request(url, self.parse_feed, errback=self.on_error, meta={"kb_sources": [source.name]})
            for url in source.start_urls:
                yield self.page_request(url, source, depth=0, dont_filter=True, priority=PRIORITY_LISTED)

    # -- requests -------------------------------------------------------

    def page_request(
        self, url: str, source: Source, depth: int, dont_filter: bool = False, priority: int = 0
    ) -> scrapy.Request | None:
        """A page request (its URL normalised), conditional when an earlier run
        stored the page with validators.

        None for a page already requested (or skipped by date) in this run, a
        URL that looks like a crawler trap, and once the source has used up its
        max_pages (start URLs always go out).
        """
        url = normalize_url(url)
        if not dont_filter and url_key(url) in self.handled:
            return None
        if not dont_filter and (trap := trap_reason(url)):
            self.logger.info("not following %s: %s", url, trap)
            self.crawler.stats.inc_value("kb/skipped_trap")
            return None
        pages = self.pages_requested.get(source.name, 0)
        if pages >= source.max_pages and not dont_filter:
            self.crawler.stats.inc_value("kb/skipped_max_pages")
            return None
        self.pages_requested[source.name] = pages + 1
        self.handled.add(url_key(url))
        headers = {}
        known = self.known.get(url)
        if known and known["etag"]:
            headers["If-None-Match"] = known["etag"]
        if known and known["last_modified"]:
            headers["If-Modified-Since"] = known["last_modified"]
        video = source.type == "captions" and caption_format(url, "") is None  # a video page, not a caption file
        return scrapy.Request(
            url,
            self.parse_video if video else self.parse_page,
            errback=self.on_error,
            headers=headers,
            meta={"kb_source": source.name, "kb_depth": depth},
            dont_filter=dont_filter,
            priority=priority,
        )

    def sitemap_request(self, url: str, source_names: list[str]) -> scrapy.Request:
        return scrapy.Request(url, self.parse_sitemap, errback=self.on_error, meta={"kb_sources": source_names})

    def entry_requests(self, entries: Iterable[tuple[str, datetime | None]], source_names: list[str]):
        """Requests for sitemap or feed entries (URL, modified date) that are articles
        of one of the sources; a Revisit instead for an entry dated before our copy."""
        for url, modified in entries:
            for name in source_names:
                source = self.config.source(name)
                if source.is_article(url):
                    if url_key(url) in self.handled:
                        pass
                    elif self.unchanged_since_fetched(url, modified):
                        yield from self.dated_unchanged(source, url)
                    elif (request := self.page_request(url, source, depth=0)) is not None:
                        yield request
                    break

    def dated_unchanged(self, source: Source, url: str):
        """A page its sitemap or feed date calls unchanged: skipped, or requested to check the dates."""
        decision = self.hints[source.name].decide()
        if decision in ("fetch", "check"):
            request = self.page_request(url, source, depth=0)
            if request is not None:
                if decision == "check":
                    request.meta["kb_hint_check"] = True
                yield request
                return
            if decision == "check":  # not requested after all (max_pages): no verdict
                yield from self.hint_answered(source.name, None)
        self.handled.add(url_key(url))
        if decision == "wait":
            self.hints[source.name].waiting.append(url)
        elif decision != "fetch":
            yield self.skipped_by_date(source.name, url)

    def skipped_by_date(self, source_name: str, url: str) -> Revisit:
        self.crawler.stats.inc_value("kb/skipped_by_date")
        return Revisit(source_name, normalize_url(url), "unchanged", "dated before our copy", confirmed=False)

    def hint_answered(self, source_name: str, changed: bool | None):
        """A check of the dates answered: the pages waiting for it skipped, or fetched after all."""
        trust = self.hints[source_name]
        was_trusted = trust.trusted
        action, released = trust.answer(changed)
        if was_trusted and not trust.trusted:
            self.logger.warning(
                "source %s: a page its sitemap or feed dated before our copy had changed: not trusting its dates "
                "for the rest of this run",
                source_name,
            )
        source = self.config.source(source_name)
        for url in released:
            if action == "skip":
                yield self.skipped_by_date(source_name, url)
                continue
            self.handled.discard(url_key(url))
            if (request := self.page_request(url, source, depth=0)) is not None:
                yield request

    def unchanged_since_fetched(self, url: str, modified: datetime | None) -> bool:
        """Whether a sitemap/feed date says our stored copy is current.

        Not believed blindly: a date in the future means nothing, and a copy
        older than KB_REVISIT_AFTER_DAYS is fetched again whatever the date says.
        """
        known = self.known.get(normalize_url(url))
        if modified is None or not known or not known.get("last_fetched"):
            return False
        fetched = parse_date(known["last_fetched"])
        now = datetime.now(timezone.utc)
        if fetched is None or modified > now or now - fetched > self.revisit_after:
            return False
        return modified < fetched

    # -- callbacks ------------------------------------------------------

    def parse_robots(self, response: Response):
        if not isinstance(response, TextResponse):
            return
        names = response.meta["kb_sources"]
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            owners = [n for n in names if self.config.source(n).owns(url)]
            if owners:
                yield self.sitemap_request(url, owners)

    def robots_error(self, failure: Failure):
        # A site without robots.txt is normal: nothing to discover, nothing failed.
        self.logger.debug("no robots.txt at %s: %s", failure.request.url, failure.getErrorMessage())

    def parse_sitemap(self, response: Response):
        names = response.meta["kb_sources"]
        body = self.sitemap_body(response)
        sitemap = None
        if body:
            try:
                sitemap = Sitemap(body)
            except Exception:  # lxml raises several types for broken XML
                sitemap = None
        if sitemap is None or sitemap.type not in ("urlset", "sitemapindex"):
            yield FetchFailure(names[0], response.url, "not a sitemap")
            return
        entries = [(entry["loc"], parse_date(entry.get("lastmod"))) for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for url, _ in entries:
                owners = [n for n in names if self.config.source(n).owns(url)]
                if owners:
                    yield self.sitemap_request(url, owners)
        else:
            yield from self.entry_requests(entries, names)

    def sitemap_body(self, response: Response) -> bytes | None:
        if isinstance(response, XmlResponse):
            return response.body
        if gzip_magic_number(response):
            try:
                return gunzip(response.body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except Exception:
                return None
        if response.url.endswith((".xml", ".xml.gz")):
            return response.body
        return None

    def parse_feed(self, response: Response):
        names = response.meta["kb_sources"]
        spoken = [name for name in names if self.config.source(name).type in ("transcript", "captions")]
        if spoken:  # a podcast feed: its episodes' transcripts, not their show-notes pages
            yield from self.transcript_requests(response, spoken)
            names = [name for name in names if name not in spoken]
            if not names:
                return
        feed = feedparser.parse(response.body)
        if not feed.entries:
            if feed.bozo:
                yield FetchFailure(names[0], response.url, f"not a feed: {feed.get('bozo_exception')}")
            return
        entries = (
            (response.urljoin(entry["link"]), _feed_date(entry.get("updated_parsed") or entry.get("published_parsed")))
            for entry in feed.entries
            if entry.get("link")
        )
        yield from self.entry_requests(entries, names)

    def transcript_requests(self, response: Response, names: list[str]):
        """Requests for the transcripts a podcast feed links (podcast:transcript), each carrying its
        episode (title, recording, date) for the document."""
        for episode in feed_transcripts(response.body):
            url = response.urljoin(episode["url"])
            for name in names:
                source = self.config.source(name)
                if source.is_article(url):
                    if (request := self.page_request(url, source, depth=0)) is not None:
                        request.meta["kb_episode"] = episode
                        yield request
                    break

    def headers_received(self, headers, body_length, request, spider) -> None:
        """Stop downloading a page whose declared type is neither HTML nor possibly a PDF, and a
        PDF declared larger than pdf_max_mb: only their headers are read."""
        if "kb_source" not in request.meta:
            return
        content_type = headers.get(b"Content-Type", b"").split(b";")[0].strip().lower()
        if content_type in PDF_TYPES + MAYBE_PDF_TYPES and body_length > self.config.pdf_max_mb * 2**20:
            request.meta["kb_too_large"] = body_length
            raise StopDownload(fail=False)
        kind = self.config.source(request.meta["kb_source"]).type_of(request.url)
        spoken = (b"text/plain",) if kind in ("transcript", "captions") else ()  # where SRT files often are
        threads = (b"application/json",) if kind in THREAD_TYPES else ()
        allowed = PAGE_TYPES + PDF_TYPES + MAYBE_PDF_TYPES + CAPTION_TYPES_BYTES + spoken + threads
        if content_type and content_type not in allowed:
            raise StopDownload(fail=False)

    def hint_check_answered(self, response: Response, source: Source):
        if response.meta.get("kb_hint_check"):
            known = self.known.get(normalize_url(response.meta.get("redirect_urls", [response.url])[0])) or {}
            changed = known.get("body_hash") != hashlib.sha256(response.body).hexdigest()
            yield from self.hint_answered(source.name, changed)

    async def parse_video(self, response: Response):
        """A captions source's page that is not a caption file: a video page (YouTube, or a page
        with a <video> and its <track>s). yt-dlp, in a thread, says where its captions are; they
        are fetched next and stored under the page's URL. Its links are not followed."""
        source = self.config.source(response.meta["kb_source"])
        if not isinstance(response, HtmlResponse) or not source.is_article(response.url):
            for item in self.page_items(response):  # a caption file after all, served without its extension
                yield item
            return
        for item in self.hint_check_answered(response, source):
            yield item
        try:
            video = await maybe_deferred_to_future(
                deferToThread(
                    find_captions,
                    response.url,
                    delay=self.settings.getfloat("DOWNLOAD_DELAY"),
                    user_agent=self.settings.get("USER_AGENT"),
                    timeout=self.settings.getfloat("DOWNLOAD_TIMEOUT"),
                )
            )
        except TranscriptError as e:
            yield FetchFailure(source.name, response.url, str(e), kind=e.kind)
            return
        page = normalize_url(response.url)
        title = video.title or " ".join(response.css("title::text").get("").split()) or None
        made = "automatic captions (speech recognition)" if video.automatic else "captions"
        episode = {
            "title": title,
            "published": video.published,
            "media": source.media or video.media_url,
            "page": page,
            "language": video.language.split("-")[0],
            "description": f"{made} of the video, language {video.language}",
        }
        yield scrapy.Request(
            video.captions_url,
            self.parse_page,
            errback=self.on_error,
            meta={"kb_source": source.name, "kb_depth": response.meta["kb_depth"], "kb_episode": episode},
            dont_filter=True,
        )

    def parse_page(self, response: Response):
        yield from self.page_items(response)

    def page_items(self, response: Response):
        """What a page is: an article, a PDF, captions, a thread, a failure; and the requests for its links."""
        source = self.config.source(response.meta["kb_source"])
        yield from self.hint_check_answered(response, source)
        is_article = source.is_article(response.url)
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").split(";")[0].strip()
        kind = source.type_of(response.url)
        if kind in THREAD_TYPES:
            if is_article:
                yield from self.thread_or_failures(response, source, kind)
            return
        fmt = caption_format(response.url, content_type)
        episode = response.meta.get("kb_episode") or {}
        if fmt:
            if is_article or "page" in episode:
                yield self.same_bytes_as_stored(response, source, episode.get("page")) or self.captions_or_failure(
                    response, source, fmt, episode
                )
            return
        if (
            content_type.encode().lower() in PDF_TYPES
            or looks_like_pdf(response.body)
            or "kb_too_large" in response.meta
        ):
            if not source.is_denied(response.url):
                yield self.pdf_or_failure(response, source)
            return
        if not isinstance(response, HtmlResponse) or looks_binary(response.body):
            if is_article:
                what = f"binary content served as {content_type}" if content_type else "no content type"
                if content_type and content_type.encode().lower() not in PAGE_TYPES:
                    what = content_type
                yield FetchFailure(source.name, response.url, f"not HTML ({what})", kind="not HTML")
            return
        item = None
        if is_article:
            item = self.same_bytes_as_stored(response, source) or self.article_or_failure(response, source)
            yield item
        depth = response.meta["kb_depth"]
        if depth >= source.max_depth:
            return
        relevance = self.page_relevance(source, item) if source.focus else None
        links = [link for link in self.link_extractors[source.name].extract_links(response) if source.owns(link.url)]
        if relevance is not None and source.min_relevance is not None and relevance < source.min_relevance:
            self.crawler.stats.inc_value("kb/low_relevance")
            self.crawler.stats.inc_value(f"kb/low_relevance/{source.name}")
            self.logger.info(
                "not following the %d links of %s: relevance %.2f is below min_relevance %.2f",
                len(links),
                response.url,
                relevance,
                source.min_relevance,
            )
            return
        priority = 0 if relevance is None else round(100 * (relevance - self.relevance_scorer().config.threshold))
        for link in links:
            request = self.page_request(link.url, source, depth + 1, priority=priority)
            if request is not None:
                yield request

    def relevance_scorer(self) -> RelevanceScorer:
        """Built when a focused source first needs it: loading the model takes seconds."""
        if self._scorer is None:
            from embeddings.model import get_embedder

            config = load_relevance(self.settings.get("KB_RELEVANCE_FILE") or DEFAULT_RELEVANCE_FILE)
            self._scorer = RelevanceScorer(config, get_embedder(self.settings.get("KB_MODEL")))
            self._count_tokens = load_token_counter(self.settings.get("KB_MODEL"))
        return self._scorer

    def page_relevance(self, source: Source, item) -> float | None:
        """An article's relevance: scored from its text as `kb analyze` would score it, or as
        stored for a page whose bytes did not change; None for other pages."""
        if isinstance(item, Revisit):
            return (self.known.get(item.url) or {}).get("relevance")
        if not isinstance(item, Article):
            return None
        scorer = self.relevance_scorer()
        spans = split_passages(item.text, self.settings.getint("KB_PASSAGE_MAX_TOKENS"), self._count_tokens)
        return document_score(scorer.score_passages([item.text[start:end] for start, end in spans]))

    def same_bytes_as_stored(self, response: Response, source: Source, url: str | None = None) -> Revisit | None:
        """A Revisit when the bytes are those stored last time for ``url`` (the response's own URL
        unless given: a video page's captions are stored under the page): nothing to extract again."""
        url = url or normalize_url(response.url)
        known = self.known.get(url)
        if known and known.get("body_hash") == hashlib.sha256(response.body).hexdigest():
            return Revisit(source.name, url, "unchanged", "same bytes as last time")
        return None

    def pdf_or_failure(self, response: Response, source: Source) -> Article | Revisit | FetchFailure:
        """A PDF within the sources file's limits, as an Article; a failure with the reason otherwise."""
        limit = self.config.pdf_max_mb
        size = response.meta.get("kb_too_large") or len(response.body)
        if size > limit * 2**20:
            return FetchFailure(
                source.name,
                response.url,
                f"PDF of {size / 2**20:.1f} MB, larger than the {limit:g} MB limit",
                kind="too large",
            )
        if not looks_like_pdf(response.body):
            return FetchFailure(source.name, response.url, "served as a PDF but not a PDF", kind="broken PDF")
        revisit = self.same_bytes_as_stored(response, source)
        if revisit:
            return revisit
        try:
            fields = extract_pdf(
                response.body, normalize_url(response.url), self.config.pdf_max_pages, self.config.pdf_max_seconds
            )
        except PdfError as e:
            return FetchFailure(source.name, response.url, str(e), kind=e.kind)
        url = fields.pop("url")
        return Article(
            source=source.name,
            url=url,
            fetched_url=url,
            **fields,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            body_hash=hashlib.sha256(response.body).hexdigest(),
        )

    def captions_or_failure(
        self, response: Response, source: Source, fmt: str, episode: dict
    ) -> Article | FetchFailure:
        """A caption file (VTT or SRT) as an Article of turns; a failure saying why it cannot be read.
        ``episode``: what a podcast feed said of it (title, recording, date)."""
        speakers = dict(source.speakers) if isinstance(source.speakers, tuple) else source.speakers
        try:
            turns = read_captions(response.body, fmt, speakers)
        except TranscriptError as e:
            return FetchFailure(source.name, response.url, str(e), kind=e.kind)
        text, segments = turns_text(turns)
        url = episode.get("page") or normalize_url(response.url)
        # A video page's captions: their validators would be sent with the next request for the page.
        validators = "page" not in episode
        return Article(
            source=source.name,
            url=url,
            fetched_url=url,
            title=episode.get("title") or f"{source.name}: {url.rsplit('/', 1)[-1]}",
            author=None,
            published=episode.get("published"),
            site_name=None,
            language=episode.get("language"),
            description=episode.get("description"),
            text=text,
            links=[],
            etag=_header(response, "ETag") if validators else None,
            last_modified=_header(response, "Last-Modified") if validators else None,
            body_hash=hashlib.sha256(response.body).hexdigest(),
            media_type="text/vtt" if fmt == "vtt" else "application/x-subrip",
            segments=segments,
            media_url=source.media or episode.get("media"),
        )

    def thread_or_failures(self, response: Response, source: Source, kind: str):
        """A discussion thread (JSON; ``kind`` hn or reddit) as an Article of comments, and a failure
        row when it was cut at the source's max_comments; a failure alone when it is not a thread."""
        try:
            thread = read_thread(kind, response.body, response.url, source.max_comments)
        except TranscriptError as e:
            yield FetchFailure(source.name, response.url, str(e), kind=e.kind)
            return
        text, segments = thread_text(thread)
        if not text:
            yield FetchFailure(source.name, response.url, "no comments to keep", kind="no comments")
            return
        kept = len(thread.comments)
        yield Article(
            source=source.name,
            url=thread.url,
            fetched_url=normalize_url(response.url),
            title=thread.title,
            author=None,
            published=thread.published,
            site_name="Hacker News" if kind == "hn" else "Reddit",
            language=None,
            description=f"{kept} comments kept of {thread.total}; {thread.skipped} deleted or removed",
            text=text,
            links=[],
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            body_hash=hashlib.sha256(response.body).hexdigest(),
            media_type="application/json",
            segments=segments,
        )
        if kept < thread.total - thread.skipped:
            reason = f"kept the first {kept:,} of {thread.total - thread.skipped:,} comments (max_comments)"
            yield FetchFailure(source.name, response.url, reason, kind="thread capped")

    def transcript_or_failure(self, article: Article, source: Source, episode: dict) -> Article | FetchFailure:
        """A transcript page's article with its text rewritten as turns; a failure without any.
        ``episode``: what a podcast feed said of it (title, recording, date)."""
        try:
            turns = read_transcript(article.text)
        except TranscriptError as e:
            return FetchFailure(source.name, article.fetched_url, str(e), kind=e.kind)
        media_url = source.media or episode.get("media") or media_link(article.links)
        article.published = article.published or episode.get("published")
        article.text, article.segments = turns_text(turns)
        article.links, article.media_url = [], media_url  # the links' offsets were into the page's text
        return article

    def article_or_failure(self, response: HtmlResponse, source: Source) -> Article | FetchFailure:
        content_language = response.headers.get("Content-Language", b"").decode("latin-1") or None
        try:
            fields = extract_page(response.body, response.url, _header(response, "Content-Type"), content_language)
        except ExtractionError as e:
            return FetchFailure(source.name, response.url, str(e), kind="no article text")
        fetched_url = normalize_url(response.url)
        # A page may name its canonical URL, but only within its own source's hosts.
        canonical = normalize_url(fields.pop("url"))
        url = canonical if source.owns(canonical) else fetched_url
        article = Article(
            source=source.name,
            url=url,
            fetched_url=fetched_url,
            **fields,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            body_hash=hashlib.sha256(response.body).hexdigest(),
        )
        if source.type != "transcript":
            return article
        return self.transcript_or_failure(article, source, response.meta.get("kb_episode") or {})

    def on_error(self, failure: Failure):
        request = failure.request
        source = request.meta.get("kb_source") or request.meta.get("kb_sources", [None])[0]
        url = normalize_url(request.meta.get("redirect_urls", [request.url])[0])  # as requested, before redirects
        if request.meta.get("kb_hint_check"):
            status = failure.value.response.status if failure.check(HttpError) else None
            yield from self.hint_answered(source, {304: False, 404: True, 410: True}.get(status))
        if failure.check(HttpError):
            response = failure.value.response
            if response.status == 304:
                yield Revisit(source, url, "unchanged", "HTTP 304")
            elif response.status in (404, 410) and "kb_source" in request.meta:
                yield Revisit(source, url, "gone", f"HTTP {response.status}")  # stored before?
            else:
                kind = f"HTTP {response.status}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                reason = kind if wait is None else f"{kind}, asked to retry after {wait:.0f} s"
                yield FetchFailure(source, url, reason, kind=kind)
        elif failure.check(OffsiteRedirect):
            yield FetchFailure(source, url, failure.getErrorMessage(), kind="offsite redirect")
        elif failure.check(RefusedRequest):
            yield FetchFailure(source, url, failure.getErrorMessage(), kind="refused host")
        elif failure.check(TooLarge):
            yield FetchFailure(source, url, f"too large: {failure.getErrorMessage()}", kind="too large")
        elif failure.check(IgnoreRequest):
            message = failure.getErrorMessage()
            if "max redirections" in message:
                limit = self.settings.getint("REDIRECT_MAX_TIMES")
                yield FetchFailure(source, url, f"more than {limit} redirects (a loop?)", kind="too many redirects")
            else:  # robots.txt said no, or the time budget ran out: not a failure
                self.logger.info("skipped %s: %s", url, message)
        else:
            kind = next((k for types, k in FAILURE_KINDS if failure.check(*_tuple(types))), failure.type.__name__)
            if kind == "too large":  # Scrapy's message is empty when the body outgrows the limit mid-stream
                detail = f"larger than the {self.settings.getint('DOWNLOAD_MAXSIZE') / 2**20:g} MB limit"
            else:
                detail = failure.getErrorMessage() or failure.type.__name__
            yield FetchFailure(source, url, f"{kind}: {detail}", kind=kind)


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def parse_date(text: str | None) -> datetime | None:
    """A W3C/ISO 8601 date as an aware UTC datetime; a bare date means the end of
    that day (a page changed 'on the 3rd' may have changed after we fetched it that day)."""
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(text) == 10:
        value += timedelta(days=1)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _feed_date(parsed) -> datetime | None:
    """feedparser's *_parsed (a UTC struct_time) as a datetime."""
    return datetime.fromtimestamp(calendar.timegm(parsed), timezone.utc) if parsed else None
