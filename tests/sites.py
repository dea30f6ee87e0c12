"""A local HTTP site built from a table of routes, for crawl tests.

Each route maps a path to a Page (status, content type, body, headers).
The server records every request path so tests can assert what the
crawler did and did not fetch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from kb.demo import BackgroundServer


@dataclass
class Page:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow site

    def encoded(self, base_url: str) -> bytes:
        body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return body.replace(b"__BASE_URL__", base_url.encode())


def html_page(title: str, *paragraphs: str, links: tuple[str, ...] = (), head: str = "") -> Page:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    anchors = "".join(f'<a href="{href}">{href}</a> ' for href in links)
    return Page(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><nav>{anchors}</nav><article><h1>{title}</h1>{body}</article></body></html>"
    )


class RoutedSite(BackgroundServer):
    """Serve ``routes`` on 127.0.0.1 (free port) while used as a context manager."""

    def __init__(self, routes: dict[str, Page]):
        self.routes = routes
        self.requests: list[str] = []
        self.request_headers: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                page = site.routes.get(self.path.split("#")[0]) or Page("not found", 404, "text/plain")
                if page.delay:
                    time.sleep(page.delay)
                site.request_headers.append(dict(self.headers))
                # RFC 9110: If-None-Match, when sent, decides; If-Modified-Since only without it.
                etag, modified = page.headers.get("ETag"), page.headers.get("Last-Modified")
                if_none_match, if_modified = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if (if_none_match is not None and if_none_match == etag) or (
                        if_none_match is None and modified and if_modified == modified):
                    self.send_response(304)
                    self.end_headers()
                    return
                body = page.encoded(site.base_url)
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
