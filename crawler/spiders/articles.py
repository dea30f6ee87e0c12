"""The one spider: discovers article pages of every source and extracts them.

Discovery, per source:
- start URLs, sitemaps and feeds listed in the sources file;
- sitemaps announced in each host's robots.txt (unless robots_sitemaps: false,
  for a big site of which the source wants a few pages);
- links on fetched pages, within the source's hosts, up to ``max_depth``
  hops from a start URL, sitemap entry or feed entry.

A fetched page whose URL matches the source's ``allow`` rules (and none of
its ``deny`` rules) is an article: it is extracted and handed to the
pipeline. Other pages are only read for links. Anything that goes wrong
with a page becomes a FetchFailure item with its reason, and the crawl goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import feedparser
import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from kb import storage

from ..extract import ExtractionError, extract_article
from ..items import Article, FetchFailure, Revisit
from ..sources import CrawlConfig, Source


class ArticlesSpider(scrapy.Spider):
    name = "articles"

    def __init__(self, config: CrawlConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.allowed_domains = sorted(config.hostnames)
        self.link_extractors = {s.name: LinkExtractor(deny=s.deny, unique=True) for s in config.sources}
        self.pages_requested: dict[str, int] = {}

    async def start(self):
        self.validators = self.load_validators()
        for request in self.start_requests_for_config():
            yield request

    def load_validators(self) -> dict[str, dict]:
        """ETag / Last-Modified of pages stored by earlier runs: cross-run state lives in SQLite."""
        path = self.settings.get("KB_DB_PATH")
        try:
            db = storage.connect(path)
        except storage.StorageError:
            return {}
        try:
            return storage.fetch_validators(db)
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
            yield scrapy.Request(
                robots_url, self.parse_robots, errback=self.robots_error, meta={"kb_sources": names}
            )
        for source in self.config.sources:
            for url in source.sitemaps:
                yield self.sitemap_request(url, [source.name])
            for url in source.feeds:
                yield scrapy.Request(
                    url, self.parse_feed, errback=self.on_error, meta={"kb_sources": [source.name]}
                )
            for url in source.start_urls:
                yield self.page_request(url, source, depth=0, dont_filter=True)

    # -- requests -------------------------------------------------------

    def page_request(self, url: str, source: Source, depth: int, dont_filter: bool = False) -> scrapy.Request | None:
        """A page request, conditional when an earlier run stored the page with validators.

        None once the source has used up its max_pages (start URLs always go out).
        """
        pages = self.pages_requested.get(source.name, 0)
        if pages >= source.max_pages and not dont_filter:
            self.crawler.stats.inc_value("kb/skipped_max_pages")
            return None
        self.pages_requested[source.name] = pages + 1
        headers = {}
        known = getattr(self, "validators", {}).get(canonicalize_url(url))
        if known and known["etag"]:
            headers["If-None-Match"] = known["etag"]
        if known and known["last_modified"]:
            headers["If-Modified-Since"] = known["last_modified"]
        return scrapy.Request(
            url,
            self.parse_page,
            errback=self.on_error,
            headers=headers,
            meta={"kb_source": source.name, "kb_depth": depth},
            dont_filter=dont_filter,
        )

    def sitemap_request(self, url: str, source_names: list[str]) -> scrapy.Request:
        return scrapy.Request(
            url, self.parse_sitemap, errback=self.on_error, meta={"kb_sources": source_names}
        )

    def entry_requests(self, urls: Iterator[str], source_names: list[str]) -> Iterator[scrapy.Request]:
        """Requests for sitemap or feed entries that are articles of one of the sources."""
        for url in urls:
            for name in source_names:
                source = self.config.source(name)
                if source.is_article(url):
                    request = self.page_request(url, source, depth=0)
                    if request is not None:
                        yield request
                    break

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
        locations = (entry["loc"] for entry in sitemap if entry.get("loc"))
        if sitemap.type == "sitemapindex":
            for url in locations:
                owners = [n for n in names if self.config.source(n).owns(url)]
                if owners:
                    yield self.sitemap_request(url, owners)
        else:
            yield from self.entry_requests(locations, names)

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
        feed = feedparser.parse(response.body)
        if not feed.entries:
            if feed.bozo:
                yield FetchFailure(names[0], response.url, f"not a feed: {feed.get('bozo_exception')}")
            return
        links = (entry.get("link") for entry in feed.entries)
        yield from self.entry_requests((response.urljoin(l) for l in links if l), names)

    def parse_page(self, response: Response):
        source = self.config.source(response.meta["kb_source"])
        is_article = source.is_article(response.url)
        if not isinstance(response, HtmlResponse):
            if is_article:
                content_type = response.headers.get("Content-Type", b"").decode("latin-1") or "no type"
                yield FetchFailure(source.name, response.url, f"not HTML ({content_type})")
            return
        if is_article:
            yield self.article_or_failure(response, source)
        depth = response.meta["kb_depth"]
        if depth < source.max_depth:
            for link in self.link_extractors[source.name].extract_links(response):
                request = self.page_request(link.url, source, depth + 1) if source.owns(link.url) else None
                if request is not None:
                    yield request

    def article_or_failure(self, response: HtmlResponse, source: Source) -> Article | FetchFailure:
        content_language = response.headers.get("Content-Language", b"").decode("latin-1") or None
        try:
            fields = extract_article(response.text, response.url, content_language)
        except ExtractionError as e:
            return FetchFailure(source.name, response.url, str(e))
        fetched_url = canonicalize_url(response.url)
        # A page may name its canonical URL, but only within its own source's hosts.
        canonical = canonicalize_url(fields.pop("url"))
        url = canonical if source.owns(canonical) else fetched_url
        return Article(
            source=source.name, url=url, fetched_url=fetched_url, **fields,
            etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"),
        )

    def on_error(self, failure: Failure):
        request = failure.request
        source = request.meta.get("kb_source") or request.meta.get("kb_sources", [None])[0]
        if failure.check(HttpError) and failure.value.response.status == 304:
            yield Revisit(source, canonicalize_url(request.url), "unchanged", "HTTP 304")
            return
        if failure.check(HttpError) and failure.value.response.status in (404, 410) and "kb_source" in request.meta:
            status = failure.value.response.status
            yield Revisit(source, canonicalize_url(request.url), "gone", f"HTTP {status}")  # stored before?
            return
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        elif failure.check(IgnoreRequest):
            # robots.txt said no, or an offsite redirect: polite, not a failure.
            self.logger.info("skipped %s: %s", request.url, failure.getErrorMessage())
            return
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}".strip()
        yield FetchFailure(source, request.url, reason)


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
