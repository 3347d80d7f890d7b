"""A light load generator: one asyncio Protocol per stream, no HTTP client.

A full client per stream (httpx, aiohttp) would cost more CPU than the server
it measures at 10,000 streams; a protocol that only looks for a few byte
markers in what arrives costs almost nothing. Each event reaches the socket in
one write (one HTTP chunk), so markers are never split by chunk framing; a
marker split between two reads is caught by keeping the tail of the last read.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass, field
from itertools import pairwise
from typing import cast

START = b"event: start\n"
STEP = b"event: step\n"
DONE = b"event: done\n"
HEARTBEAT = b": keepalive\n"
_MARKERS = (START, STEP, DONE, HEARTBEAT)
_TAIL = max(len(marker) for marker in _MARKERS) - 1


def raise_nofile_limit() -> int:
    """Raise the soft open-file limit to the hard one; returns the new limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def request_bytes(
    method: str, path: str, port: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class StreamStats:
    """What one stream saw, with ``time.monotonic`` arrival times."""

    sent_at: float = 0.0
    """When the connection was asked for: timings include the TCP connect."""
    status: int = 0
    start_at: float | None = None
    done_at: float | None = None
    closed_at: float | None = None
    steps: int = 0
    heartbeats: list[float] = field(default_factory=list)
    received: int = 0
    sent: int = 0
    error: str | None = None
    body: bytearray | None = None

    def heartbeat_lateness(self, interval: float, since: float, until: float) -> list[float]:
        """How much later than ``interval`` each heartbeat came after the previous byte mark.

        Only heartbeats due at or after ``since`` and arrived before ``until`` count,
        so a window that starts once every client is connected leaves out the ramp.
        """
        if self.start_at is None:
            return []
        marks = [self.start_at, *self.heartbeats]
        return [
            later - earlier - interval
            for earlier, later in pairwise(marks)
            if earlier + interval >= since and later < until
        ]

    def ids(self) -> list[str]:
        """Every event id, in order (only when the body was kept)."""
        text = (self.body or b"").decode()
        return [line[4:] for line in text.split("\n") if line.startswith("id: ")]


class SSEClient(asyncio.Protocol):
    """Sends one GET and records what the stream brings; ``until`` says when to hang up."""

    def __init__(self, request: bytes, until: str, keep_body: bool = False) -> None:
        self.request = request
        self.until = until
        self.stats = StreamStats(body=bytearray() if keep_body else None)
        self.finished: asyncio.Future[StreamStats] = asyncio.get_running_loop().create_future()
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.stats.sent = len(self.request)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.stats.received += len(data)
        if not self.stats.status:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.stats.status = int(self._head.split(b" ", 2)[1])
            data, self._head = self._head[end + 4 :], b""
            if self.stats.status != 200:
                self._finish(f"status {self.stats.status}")
                return
        if self.stats.body is not None:
            self.stats.body += data
        window = self._tail + data
        self._tail = window[-_TAIL:]
        self._count(window, now)

    def _count(self, window: bytes, now: float) -> None:
        stats = self.stats
        if stats.start_at is None and START in window:
            stats.start_at = now
            if not self.started.done():
                self.started.set_result(None)
        stats.steps += window.count(STEP)
        stats.heartbeats += [now] * window.count(HEARTBEAT)
        if stats.done_at is None and DONE in window:
            stats.done_at = now
        if (self.until == "start" and stats.start_at) or (self.until == "done" and stats.done_at):
            self._finish(None)

    def _finish(self, error: str | None) -> None:
        if not self.finished.done():
            self.stats.error = error
            self.finished.set_result(self.stats)
        if not self.started.done():
            self.started.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed_at = time.monotonic()
        self._finish("closed early")
        self.lost.set_result(None)

    def close(self) -> None:
        self._finish(None)


async def open_sse(
    port: int,
    path: str,
    *,
    until: str = "done",
    headers: dict[str, str] | None = None,
    keep_body: bool = False,
) -> SSEClient:
    """Connect and send the request; failures land in the client's stats."""
    request = request_bytes("GET", path, port, {"Accept": "text/event-stream", **(headers or {})})
    loop = asyncio.get_running_loop()
    client = SSEClient(request, until, keep_body)
    client.stats.sent_at = time.monotonic()
    try:
        await loop.create_connection(lambda: client, "127.0.0.1", port)
    except OSError as exc:
        client._finish(f"connect: {exc.__class__.__name__}")
        client.lost.set_result(None)
    return client


async def fetch_sse(port: int, path: str, timeout: float = 300, **kwargs: object) -> StreamStats:
    """One whole stream (or up to ``until``); hangs up after ``timeout`` seconds."""
    client = await open_sse(port, path, **kwargs)  # type: ignore[arg-type]
    try:
        return await asyncio.wait_for(asyncio.shield(client.finished), timeout)
    finally:
        client.close()


@dataclass
class Exchange:
    status: int
    body: bytes
    sent: int
    received: int


async def http_request(port: int, method: str, path: str, body: bytes = b"") -> Exchange:
    """One request on its own connection, as a page-per-step loop makes it."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    request = request_bytes(method, path, port, {"Connection": "close"}, body)
    try:
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, content = answer.partition(b"\r\n\r\n")
    return Exchange(int(head.split(b" ", 2)[1]), content, len(request), len(answer))
