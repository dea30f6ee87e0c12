"""Downloader middlewares: where the crawl stops, and how politely it waits.

- HostGuardMiddleware: only hosts named in the sources file are ever
  fetched, redirects included; the reason names private addresses.
- BoundedDecompressionMiddleware: a body that decompresses beyond
  DOWNLOAD_MAXSIZE fails as too large (Scrapy only drops it).
- CrawlDelayMiddleware: a host's robots.txt Crawl-delay becomes the least
  delay between its requests (Scrapy obeys robots.txt rules but not this).
- BackoffRetryMiddleware: Scrapy's retries, waiting before each one:
  Retry-After when a 429/503 names it, else exponential backoff.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep

from .sources import host_of

logger = logging.getLogger(__name__)


class RefusedRequest(IgnoreRequest):
    """A request the crawl will not send; unlike robots.txt skips, it counts as failed."""


class OffsiteRedirect(RefusedRequest):
    """A redirect (HTTP or meta refresh) to a host that no source names."""


class TooLarge(IgnoreRequest):
    """A body that decompressed beyond DOWNLOAD_MAXSIZE."""


# Most specific first: ::1 is also reserved, 0.0.0.0 and 169.254.0.0/16 also private.
ADDRESS_KINDS = ("unspecified", "loopback", "link_local", "multicast", "reserved", "private")


def _address_kind(hostname: str) -> str | None:
    """'loopback', 'private', 'link-local'... for an IP literal (IPv6 with or
    without brackets) or localhost, else None. An IPv4-mapped IPv6 address is
    named by its IPv4 address."""
    name = hostname.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ADDRESS_KINDS:
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def _refused_host(url: str) -> str:
    """Why ``url``'s host is refused: '... is not a host of any source', naming its address class."""
    host = host_of(url)
    kind = _address_kind(urlsplit(url).hostname or "")
    if kind:
        return f"{host} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address not named in the sources"
    return f"{host} is not a host of any source"


class HostGuardMiddleware:
    """Refuse every request to a host (with its port) that no source names.

    Link extraction already keeps to the sources' hosts; this also catches
    redirects and sitemap entries, and Scrapy's own offsite filter, which
    ignores ports and allows subdomains. A host that is not named is never
    fetched whatever it resolves to, so private, loopback and link-local
    addresses are reachable only when the sources file names them.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        if host_of(request.url) in self.crawler.spider.config.hosts:
            return None
        self.crawler.stats.inc_value("kb/refused_host")
        reasons = request.meta.get("redirect_reasons")
        if reasons:
            how = "by a meta refresh" if reasons[-1] == "meta refresh" else f"(HTTP {reasons[-1]})"
            raise OffsiteRedirect(f"redirected {how} to {request.url}: {_refused_host(request.url)}")
        raise RefusedRequest(f"refused: {_refused_host(request.url)}")


class BoundedDecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, but a body that decompresses beyond
    DOWNLOAD_MAXSIZE (a gzip bomb) raises TooLarge, recorded as a failure,
    instead of a bare IgnoreRequest that the spider cannot tell from a robots.txt skip."""

    def __init__(self, stats=None, *, crawler=None):
        super().__init__(stats, crawler=crawler)
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    def process_response(self, request, response, spider=None):
        try:
            return super().process_response(request, response)
        except IgnoreRequest as e:  # raised for nothing else
            limit = request.meta.get("download_maxsize", self.max_size)
            raise TooLarge(
                f"decompressed beyond the {limit / 2**20:g} MB limit ({len(response.body)} bytes compressed)"
            ) from e


class CrawlDelayMiddleware:
    """Apply robots.txt Crawl-delay to the host's download slot.

    Scrapy parses robots.txt (RobotsTxtMiddleware) and announces each parse
    with the robots_parsed signal; the delay it asks for for our user agent
    becomes the slot's delay, one request at a time, and AutoThrottle is
    told not to shorten it.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.user_agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get("USER_AGENT")
        self.delays: dict[str, float] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def robots_parsed(self, robotparser, request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay and delay > self.crawler.settings.getfloat("DOWNLOAD_DELAY"):
            hostname = request.url.split("//", 1)[-1].split("/", 1)[0].split(":")[0].lower()
            self.delays[hostname] = float(delay)
            logger.info("%s asks for a Crawl-delay of %g s", hostname, delay)

    def process_request(self, request, spider=None):
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        delay = self.delays.get(key)
        if delay is None:
            return None
        request.meta["autothrottle_dont_adjust_delay"] = True
        downloader.per_slot_settings[key] = {"delay": delay, "concurrency": 1, "jitter": 0}
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay, slot.concurrency, slot.jitter = max(slot.delay, delay), 1, 0
        return None


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before retrying.

    429 and 503 answers are retried after their Retry-After (a site asking
    for more than KB_RETRY_AFTER_MAX seconds is given up on for this run);
    other retries wait KB_RETRY_BACKOFF * 2**attempt seconds. No wait goes
    past the run's time budget (KB_TIME_BUDGET) or a shutdown: then the
    page is given up on and counted as failed, and the next run tries again.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("KB_RETRY_BACKOFF")
        self.retry_after_max = settings.getfloat("KB_RETRY_AFTER_MAX")
        self.budget = settings.getfloat("KB_TIME_BUDGET")
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider) -> None:
        self.started = time.monotonic()

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0)
        if attempt >= request.meta.get("max_retry_times", self.max_retry_times):
            return response
        wait = self.backoff * 2**attempt
        if response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None and asked > self.retry_after_max:
                logger.info(
                    "giving up on %s: Retry-After %d s is more than %d s", request.url, asked, self.retry_after_max
                )
                return response
            wait = max(wait, asked or 0.0)
        if not await self.wait(wait):
            return response
        return self._retry(request, f"HTTP {response.status}") or response

    async def process_exception(self, request, exception, spider=None):
        retry = super().process_exception(request, exception)
        if retry is not None and not await self.wait(self.backoff * 2 ** request.meta.get("retry_times", 0)):
            return None
        return retry

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the run ends first; False when it would."""
        if self.budget and time.monotonic() + seconds > self.started + self.budget:
            return False
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if not self.crawler.crawling:  # Ctrl-C / SIGTERM: do not hold the shutdown up
                return False
            await sleep(min(left, 0.5))
        return True
