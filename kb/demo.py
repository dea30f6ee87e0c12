"""The sample site: a few articles written for this project, served on localhost.

`kb demo` crawls it, and the test suite uses it as its fixture. Its pages
contain ``__BASE_URL__`` wherever an absolute URL is needed (sitemap,
feed, canonical links); the server fills in its own address.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLE_SITE = Path(__file__).parent / "sample_site"
PLACEHOLDER = b"__BASE_URL__"
FILLED_TYPES = ("text/", "application/xml", "application/rss+xml")


class _Handler(SimpleHTTPRequestHandler):
    base_url = ""

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        content_type = self.guess_type(str(path))
        if not path.is_file() or not content_type.startswith(FILLED_TYPES):
            return super().send_head()
        body = path.read_bytes().replace(PLACEHOLDER, self.base_url.encode())
        self.send_response(200)
        self.send_header("Content-Type", content_type + ("; charset=utf-8" if "charset" not in content_type else ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _BytesBody(body)

    def log_message(self, format, *args):  # keep test and demo output quiet
        pass


class _BytesBody:
    """What send_head returns: something copyfile() can read, and close()."""

    def __init__(self, body: bytes):
        self.body, self.done = body, False

    def read(self, size: int = -1) -> bytes:
        if self.done:
            return b""
        self.done = True
        return self.body

    def close(self) -> None:
        pass


class BackgroundServer:
    """An HTTP server on 127.0.0.1 (a free port) in a background thread, as a context manager.

    ``base_url`` is e.g. ``http://127.0.0.1:41234``. The test suite's crafted
    sites (tests/sites.py) use it too.
    """

    def __init__(self, handler, port: int = 0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SampleSite(BackgroundServer):
    """Serve the sample site (or another directory of pages), filling in its base URL."""

    def __init__(self, root: Path = SAMPLE_SITE, port: int = 0):
        handler = type("Handler", (_Handler,), {})
        super().__init__(partial(handler, directory=str(root)), port)
        handler.base_url = self.base_url

    def sources_yaml(self) -> str:
        """A sources file that crawls this site with politeness delays off."""
        return f"""\
# Sources for the sample site served at {self.base_url} (sample content).
download_delay: 0
sources:
  - name: sample-site
    start_urls:
      - {self.base_url}/
    feeds:
      - {self.base_url}/feed.xml
    allow:
      - '/articles/'
      - '/reprints/'
    max_depth: 2
"""
