"""URL normalisation: one spelling per page, so a crawl neither fetches nor stores it twice.

Sites link to the same page in many spellings: with tracking parameters
(``?utm_source=...``), session ids, fragments, an explicit default port, or
with and without a trailing slash. ``normalize_url`` removes what never
changes the page; ``url_key`` also treats trailing-slash variants as one,
and is what the crawl deduplicates on. ``trap_reason`` recognises URLs that
only a crawler trap produces.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.dupefilters import RFPDupeFilter
from w3lib.url import canonicalize_url

# Query parameters that identify a visitor or a campaign, never the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "ref_src",
        "ref_url",
        "sid",
        "sessionid",
        "session_id",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "cfid",
        "cftoken",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_")
# ";jsessionid=..." and friends, carried in the path rather than the query.
PATH_SESSION = re.compile(r";(?:jsessionid|sessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}

MAX_URL_LENGTH = 2000
MAX_PATH_SEGMENTS = 25
MAX_SEGMENT_REPEATS = 3


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """The URL to fetch and store: lowercase scheme and host, no default port,
    no fragment, no tracking or session parameters, sorted query, percent-encoding
    made uniform (w3lib's canonicalize_url)."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.lower()
    try:
        if parts.port == DEFAULT_PORTS.get(parts.scheme.lower()):
            netloc = netloc.rsplit(":", 1)[0]
    except ValueError:  # a port that is not a number: leave it to the request to fail
        pass
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)])
    path = PATH_SESSION.sub("", parts.path)
    return canonicalize_url(urlunsplit((parts.scheme, netloc, path, query, "")))


def url_key(url: str) -> str:
    """What two URLs share when they name the same page: the normalised URL
    without a trailing slash on the path ('/a/' and '/a' are one page)."""
    parts = urlsplit(normalize_url(url))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def trap_reason(url: str) -> str | None:
    """Why a URL looks like a crawler trap (None when it does not): too long,
    too deep, or a path that repeats itself (relative links that loop)."""
    if len(url) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return f"path deeper than {MAX_PATH_SEGMENTS} segments"
    for segment in set(segments):
        if segments.count(segment) > MAX_SEGMENT_REPEATS:
            return f"path segment '{segment[:40]}' repeated {segments.count(segment)} times"
    return None


def request_key(request) -> bytes:
    """A request's fingerprint wherever requests are deduplicated (Scrapy's fingerprinter,
    the local duplicate filter, the workers' shared seen-set in Redis): its method and
    ``url_key``, so every spelling of a page is one request."""
    return hashlib.sha1(f"{request.method} {url_key(request.url)}".encode()).digest()


def loops_back(request) -> bool:
    """Whether a request is a redirect back into its own chain.

    Duplicate filters drop such a request silently, so a redirect loop would
    leave neither a page nor a failure. Let through, it is followed until
    REDIRECT_MAX_TIMES, and the crawl records the loop as a failure.
    """
    chain = request.meta.get("redirect_urls")
    return bool(chain) and url_key(request.url) in {url_key(u) for u in chain}


class UrlKeyFingerprinter:
    """Scrapy request fingerprinter (REQUEST_FINGERPRINTER_CLASS): ``request_key``."""

    @classmethod
    def from_crawler(cls, crawler) -> "UrlKeyFingerprinter":
        return cls()

    def fingerprint(self, request) -> bytes:
        return request_key(request)


class RedirectLoopDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, letting a redirect loop through (``loops_back``)."""

    def request_seen(self, request) -> bool:
        return False if loops_back(request) else super().request_seen(request)
