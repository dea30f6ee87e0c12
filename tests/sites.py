"""A local HTTP site built from a table of routes, for crawl tests.

Each route maps a path to a Page (status, content type, body, headers), or
to a Fault: a handler that misbehaves the way real servers do (resets,
trickles, endless bodies). ``dynamic`` answers paths not in the table (an
endless calendar). The server records every request path, when it came, and
how many requests were in flight at once, so tests can assert what the
crawler did and did not fetch, and how politely.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
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


class Fault:
    """A route that misbehaves: subclasses write whatever they like to the socket."""

    def serve(self, handler: BaseHTTPRequestHandler, site: "RoutedSite") -> None:
        raise NotImplementedError


@dataclass
class FailFirst(Fault):
    """Answer ``status`` (with Retry-After when given) to the first ``times`` requests, then ``page``."""

    page: Page
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    served: int = 0

    def serve(self, handler, site) -> None:
        self.served += 1
        if self.served > self.times:
            site.answer(handler, self.page)
            return
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        site.answer(handler, Page("busy", self.status, "text/plain", headers))


class ResetMidBody(Fault):
    """Promise 20 kB, send a little, then reset the connection (RST)."""

    def serve(self, handler, site) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "20000")
        handler.end_headers()
        handler.wfile.write(b"<html><body><p>The beginning of a page that never ends")
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()


@dataclass
class Trickle(Fault):
    """A byte every ``interval`` seconds, for up to ``seconds`` or until the client leaves."""

    seconds: float = 30.0
    interval: float = 0.2

    def serve(self, handler, site) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        end = time.monotonic() + self.seconds
        try:
            while time.monotonic() < end:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(self.interval)
        except OSError:
            pass


@dataclass
class Endless(Fault):
    """``megabytes`` of HTML, streamed until the client hangs up; without a
    Content-Length unless ``declared``."""

    megabytes: int = 50
    declared: bool = False

    def serve(self, handler, site) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if self.declared:
            handler.send_header("Content-Length", str(self.megabytes * 16 * 65537))
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65530 + b"</p>"
        try:
            for _ in range(self.megabytes * 16):
                handler.wfile.write(chunk)
            site.bodies_completed += 1
        except OSError:
            pass


class RoutedSite(BackgroundServer):
    """Serve ``routes`` on 127.0.0.1 (free port) while used as a context manager."""

    def __init__(self, routes: dict[str, Page | Fault], dynamic: Callable[[str], Page | None] | None = None):
        self.routes = routes
        self.dynamic = dynamic
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []
        self.request_headers: list[dict] = []
        self.in_flight = self.max_in_flight = self.bodies_completed = 0
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with site.lock:
                    site.requests.append(self.path)
                    site.request_times.append((time.monotonic(), self.path))
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                try:
                    page = site.page_for(self.path)
                    if isinstance(page, Fault):
                        page.serve(self, site)
                    else:
                        site.answer(self, page)
                finally:
                    with site.lock:
                        site.in_flight -= 1

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    def page_for(self, path: str) -> Page | Fault:
        path = path.split("#")[0]
        page = self.routes.get(path) or (self.dynamic(path) if self.dynamic else None)
        return page or Page("not found", 404, "text/plain")

    def answer(self, handler: BaseHTTPRequestHandler, page: Page) -> None:
        if page.delay:
            time.sleep(page.delay)
        self.request_headers.append(dict(handler.headers))
        # RFC 9110: If-None-Match, when sent, decides; If-Modified-Since only without it.
        etag, modified = page.headers.get("ETag"), page.headers.get("Last-Modified")
        if_none_match, if_modified = handler.headers.get("If-None-Match"), handler.headers.get("If-Modified-Since")
        if (if_none_match is not None and if_none_match == etag) or (
            if_none_match is None and modified and if_modified == modified
        ):
            handler.send_response(304)
            handler.end_headers()
            return
        body = page.encoded(self.base_url)
        handler.send_response(page.status)
        handler.send_header("Content-Type", page.content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in page.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def times_of(self, prefix: str) -> list[float]:
        """When requests for paths starting with ``prefix`` arrived (monotonic seconds)."""
        return [t for t, path in self.request_times if path.startswith(prefix)]
