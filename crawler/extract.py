"""Main text and metadata of an article page, extracted with trafilatura.

The crawler and ``kb extract`` both call ``extract_article`` so what a user
checks on one page is exactly what a crawl would store.
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import urljoin

import trafilatura
from scrapy.utils.python import binary_is_text
from trafilatura.utils import detect_encoding, load_html
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# Fields every extraction returns, in the order ``kb extract`` prints them.
FIELDS = ("url", "title", "author", "published", "site_name", "language", "description", "text", "links")

_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


class ExtractionError(ValueError):
    """The page has nothing we can store; the message is the reason recorded."""


def looks_binary(content: str | bytes) -> bool:
    """True for bytes no HTML page has near its start (NUL and other control
    characters, Scrapy's test), e.g. an image or archive served as text/html."""
    head = content[:4096]
    if isinstance(head, str):
        return "\x00" in head
    return read_bom(head)[0] is None and not binary_is_text(head)


def decode_html(body: bytes, declared: str | None) -> str:
    """A page's text, from its bytes and the encoding its headers or meta tag declare.

    Declarations are often wrong. A byte-order mark wins; bytes that are
    valid UTF-8 are UTF-8 (other encodings almost never produce valid UTF-8
    by accident), and so are bytes mostly valid as UTF-8, a few broken ones
    replaced; otherwise the declared encoding if the bytes decode with
    it, else trafilatura's detection (charset_normalizer), preferring
    windows-1252 among near-equal guesses as browsers do (WHATWG's default
    legacy encoding).
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        return body[len(bom) :].decode(bom_encoding, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lenient = body.decode("utf-8", errors="replace")
    damaged = lenient.count("\ufffd")
    if sum(1 for c in lenient if c > "\x7f") - damaged > damaged:
        return lenient  # UTF-8 with a few broken bytes: keep it, the damage replaced
    if declared:
        try:
            if codecs.lookup(declared).name != "utf-8":
                return body.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    guesses = detect_encoding(body)
    for encoding in (["cp1252"] if "cp1252" in guesses else []) + guesses:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


def declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding a page declares: its Content-Type header's charset, else its meta tag's."""
    return http_content_type_encoding(content_type) or html_body_declared_encoding(body)


def extract_page(body: bytes, url: str, content_type: str | None = None, content_language: str | None = None) -> dict:
    """An HTML page's fields from its bytes, as the crawl stores them (and `kb extract` prints):
    decoded by decode_html with the encoding the page declares, then extracted."""
    return extract_article(decode_html(body, declared_encoding(body, content_type)), url, content_language)


def extract_article(html: str | bytes, url: str, content_language: str | None = None) -> dict:
    """Extract an article's fields from its HTML.

    ``url`` is where the page was fetched; the returned ``url`` is the
    page's own canonical URL when it declares one (rel=canonical, og:url),
    which the caller may or may not trust. ``content_language`` is the HTTP
    Content-Language header, used when the page does not say its language.
    """
    if not html or not (html.strip() if isinstance(html, str) else html.strip(b" \t\r\n\x00")):
        raise ExtractionError("empty page")
    if looks_binary(html):
        raise ExtractionError("binary content, not HTML")
    tree = load_html(html)
    if tree is None:
        raise ExtractionError("could not be parsed as HTML")
    page_language = tree.get("lang")  # read before trafilatura prunes the tree
    anchors = _anchors(tree, url)
    result = trafilatura.bare_extraction(tree, url=url, with_metadata=True, include_comments=False, include_tables=True)
    text = _clean_text(result.text) if result is not None and result.text else ""
    if not text:
        raise ExtractionError("no extractable text")
    return {
        "url": result.url or url,
        "title": _clean(result.title),
        "author": _clean(result.author),
        "published": result.date or None,
        "site_name": _clean(result.sitename),
        "language": _language(result.language, page_language, content_language),
        "description": _clean(result.description),
        "text": text,
        "links": _links_in(text, anchors),
    }


def _anchors(tree, base_url: str) -> list[tuple[str, str]]:
    """(anchor text, absolute URL) of the page's http(s) links, in document order."""
    found = []
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        label = " ".join((a.text_content() or "").split())
        if href and label:
            absolute = urljoin(base_url, href)
            if absolute.startswith(("http://", "https://")):
                found.append((label, absolute))
    return found


def _links_in(text: str, anchors: list[tuple[str, str]]) -> list[dict]:
    """Where the main text keeps a link's words: {start, end, url} (trafilatura's text drops links).

    Anchors are matched in order, so navigation links missing from the main
    text are skipped and repeated words map to the right occurrence.
    """
    links, position = [], 0
    for label, href in anchors:
        start = text.find(label, position)
        if start == -1 or len(label) < 3:
            continue
        links.append({"start": start, "end": start + len(label), "url": href})
        position = start + len(label)
    return links


def _clean(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else ""
    return value or None


def _clean_text(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _language(*candidates: str | None) -> str | None:
    """First well-formed language tag, as its primary subtag ('en-GB' -> 'en')."""
    for candidate in candidates:
        candidate = (candidate or "").split(",")[0].strip()
        if _LANG.match(candidate):
            return re.split(r"[-_]", candidate)[0].lower()
    return None
