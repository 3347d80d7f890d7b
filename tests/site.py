"""The suite's own small website on 127.0.0.1, for the scraper to fetch.

It runs in a thread of the test process (stdlib ThreadingHTTPServer, one
thread per request, so a slow page does not hold the others back) and records
the wall-clock time of every request it gets, so tests can assert the gaps a
polite scraper leaves between requests.
"""

from __future__ import annotations

import functools
import gzip
import ssl
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import brotli
import zstandard

from tests.corpus import PAGES
from tests.threaded_http import QuietHandler, ThreadedHTTPServer

ROBOTS = "User-agent: *\nDisallow: /private\n"
BOMB_BYTES = 50_000_000


@dataclass(frozen=True)
class Hit:
    at: float
    path: str
    headers: dict[str, str]
    peer: int  # the scraper's port: which connection the request came on


def page_html(n: int) -> bytes:
    return (
        f"<!doctype html><html><head><title>Page {n}</title>"
        f'<meta name="description" content="About page {n}"></head>'
        f"<body><h1>Heading {n}</h1><p class=lead>Hello from page {n}.</p>"
        f'<p class=lead>Second para</p><script>var hidden = "not words";</script>'
        f'<a href="/page/{n + 1}">next</a> <a href="/page/{n + 1}#top">again</a> '
        f'<a href="https://example.org/x">out</a> <a href="mailto:me@example.org">mail</a>'
        f"</body></html>"
    ).encode()


COMPRESSORS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw-deflate": lambda data: zlib.compress(data)[2:-4],
    "br": brotli.compress,
    "zstd": zstandard.compress,
}
"""Content-Encoding (``raw-deflate`` is sent as ``deflate``, as some servers do) → how."""


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b"\0" * BOMB_BYTES, compresslevel=9)


class Site:
    """``with Site(robots=...) as site:`` serves on ``site.url`` and records ``site.hits``."""

    def __init__(
        self, robots: str = ROBOTS, robots_status: int = 200, tls: ssl.SSLContext | None = None
    ) -> None:
        self.robots = robots
        self.robots_status = robots_status
        self.hits: list[Hit] = []
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._bomb = _bomb()
        site = self

        class Handler(QuietHandler):
            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the scraper stopped reading early, as it should for a huge page

            def do_GET(self) -> None:
                site._record(self)
                site._answer(self)

        self._http = ThreadedHTTPServer(Handler, tls)
        self.port = self._http.port
        self.url = self._http.url

    def __enter__(self) -> Site:
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)

    def paths(self) -> list[str]:
        with self._lock:
            return [hit.path for hit in self.hits]

    def times(self, prefix: str = "") -> list[float]:
        with self._lock:
            return [hit.at for hit in self.hits if hit.path.startswith(prefix)]

    def gaps(self, prefix: str = "") -> list[float]:
        times = self.times(prefix)
        return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            hit = Hit(time.time(), handler.path, dict(handler.headers), handler.client_address[1])
            self.hits.append(hit)

    def _count(self, key: str) -> int:
        with self._lock:
            self.counters[key] += 1
            return self.counters[key]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/robots.txt":
            _send(handler, self.robots_status, self.robots.encode(), "text/plain")
        elif path.startswith("/page/") or path.startswith("/private/"):
            _send(handler, 200, page_html(int(path.rsplit("/", 1)[1])))
        elif path == "/slow":
            time.sleep(float(query.get("seconds", "2")))
            _send(handler, 200, page_html(0))
        elif path == "/flaky":
            failures = int(query.get("times", "1"))
            if self._count(handler.path) <= failures:
                headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
                _send(handler, int(query.get("status", "429")), b"busy", "text/plain", headers)
            else:
                _send(handler, 200, page_html(7))
        elif path.startswith("/status/"):
            _send(handler, int(path.rsplit("/", 1)[1]), b"status", "text/plain")
        elif path == "/huge":
            _send(handler, 200, b"<p>" + b"x" * int(query.get("bytes", "2000000")) + b"</p>")
        elif path == "/bomb":
            _send(handler, 200, self._bomb, "text/html", {"Content-Encoding": "gzip"})
        elif path.startswith("/corpus/"):
            page = PAGES[path.removeprefix("/corpus/")]
            _send(handler, 200, page.body(), page.content_type)
        elif path.startswith("/encoded/"):
            scheme = path.removeprefix("/encoded/")
            body = COMPRESSORS[scheme](page_html(3) * 20)
            if "cut" in query:
                body = body[: len(body) // 2]
            _send(handler, 200, body, headers={"Content-Encoding": scheme.removeprefix("raw-")})
        elif path == "/cut":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", "10071")
            handler.end_headers()
            handler.wfile.write(page_html(4)[:14])
            handler.close_connection = True
        elif path == "/typed":
            body = query.get("body", "<p>typed</p>").encode()
            _send(handler, 200, body, query.get("type"))
        elif path == "/deep":
            levels = int(query.get("levels", "5000"))
            body = f"<html><body>{'<div>' * levels}x{'</div>' * levels}</body></html>".encode()
            _send(handler, 200, body, query.get("type", "text/html"))
        elif path == "/data.json":
            _send(handler, 200, b'{"not": "html"}', "application/json")
        elif path.startswith("/redirect/"):
            hops = int(path.rsplit("/", 1)[1])
            target = f"/redirect/{hops - 1}" if hops > 1 else "/page/1"
            _send(handler, 302, b"", "text/plain", {"Location": target})
        elif path == "/to":
            _send(handler, 302, b"", "text/plain", {"Location": query["location"]})
        else:
            _send(handler, 404, b"not found", "text/plain")


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    """One answer; ``content_type`` None sends no Content-Type at all."""
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
