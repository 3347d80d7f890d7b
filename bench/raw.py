"""The floors: a raw ASGI app writing the bare app's events, plain (``app``) and signed.

No framework, no response class, no task besides the request's own. Each event's
bytes are formatted directly, the same bytes ``bench/bare.py`` sends; events ready
within one millisecond go out in one ``send`` (as stepstream's runner gives the
loop a turn every millisecond of zero-wait steps); one ``receive`` under
``asyncio.timeout`` waits at once for the step's end, the next heartbeat and the
client's disconnect. ``signed_app`` adds the least a signed cursor costs: every
id carries an HMAC-SHA256 of itself (``"41.<base64url MAC>"``). What stepstream
adds over these (a job, a cursor's JSON, slots, metrics, shutdown between
events) is the difference; ``uvicorn bench.raw:app`` serves one.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from app.events import encode_json
from app.settings import Settings
from bench.servers import BENCH_SECRET

TURN_SECONDS = 0.001
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store, no-transform"),
    (b"x-accel-buffering", b"no"),
]
KEEPALIVE = b": keepalive\n\n"
HEALTHY = b'{"status":"ok"}'

EventId = Callable[[int], str]


def plain_id(position: int) -> str:
    return str(position)


def signed_id(key: bytes) -> EventId:
    """Ids as ``position.signature``, the signature an HMAC-SHA256 of the position."""

    def event_id(position: int) -> str:
        text = str(position)
        mac = hmac.digest(key, text.encode(), "sha256")
        return f"{text}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    return event_id


def step_bytes(event_id: str, index: int, total: int, elapsed_ms: float) -> bytes:
    return (
        f'id: {event_id}\nevent: step\ndata: {{"index":{index},"total":{total},"ok":true,'
        f'"result":{{"count":{index + 1}}},"elapsed_ms":{elapsed_ms!r}}}\n\n'
    ).encode()


def start_bytes(event_id: str, total: int) -> bytes:
    data = encode_json({"kind": "sleep", "total": total, "next": 0, "resumed": False})
    return f"id: {event_id}\nevent: start\ndata: {data}\nretry: 2000\n\n".encode()


def done_bytes(event_id: str, total: int) -> bytes:
    data = encode_json({"total": total, "ok": total, "failed": 0})
    return f"id: {event_id}\nevent: done\ndata: {data}\n\n".encode()


class _Stream:
    """One response: what it has written, and when, for its heartbeats."""

    def __init__(self, receive: Receive, send: Send, heartbeat: float) -> None:
        self.receive = receive
        self.send = send
        self.heartbeat = heartbeat
        self.loop = asyncio.get_running_loop()
        self.written_at = self.loop.time()

    async def write(self, chunks: list[bytes]) -> None:
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        await self.send({"type": "http.response.body", "body": body, "more_body": True})
        self.written_at = self.loop.time()

    async def idle_until(self, until: float) -> bool:
        """Heartbeats until loop time ``until``; False as soon as the client has gone."""
        while self.loop.time() < until:
            beat_at = self.written_at + self.heartbeat
            try:
                async with asyncio.timeout_at(min(until, beat_at)):
                    if (await self.receive())["type"] == "http.disconnect":
                        return False
            except TimeoutError:
                if self.loop.time() >= beat_at:
                    await self.write([KEEPALIVE])
        return True


async def _events(stream: _Stream, steps: int, wait: float, event_id: EventId) -> None:
    await stream.receive()  # the GET's empty body
    await stream.send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    pending = [start_bytes(event_id(0), steps)]
    turn_at = time.perf_counter()
    for index in range(steps):
        started = time.perf_counter()
        if wait:
            await stream.write(pending)
            pending = []
            if not await stream.idle_until(stream.loop.time() + wait):
                return
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        pending.append(step_bytes(event_id(index + 1), index, steps, elapsed_ms))
        if time.perf_counter() - turn_at >= TURN_SECONDS:
            await stream.write(pending)
            pending = []
            await asyncio.sleep(0)
            turn_at = time.perf_counter()
    pending.append(done_bytes(event_id(steps), steps))
    await stream.write(pending)
    await stream.send({"type": "http.response.body", "body": b"", "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        kind = (await receive())["type"]
        await send({"type": f"{kind}.complete"})
        if kind == "lifespan.shutdown":
            return


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_raw_app(heartbeat: float, event_id: EventId) -> ASGIApp:
    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["path"] == "/api/sleep/events":
            query = parse_qs(scope["query_string"].decode())
            steps = int(query.get("steps", ["5"])[0])
            wait = float(query.get("wait", ["1"])[0])
            await _events(_Stream(receive, send, heartbeat), steps, wait, event_id)
        elif scope["path"] == "/healthz":
            await _answer(send, 200, HEALTHY)
        else:
            await _answer(send, 404, b'{"error":"not_found"}')

    return raw_app


_heartbeat = Settings().heartbeat
app = create_raw_app(_heartbeat, plain_id)
signed_app = create_raw_app(_heartbeat, signed_id(BENCH_SECRET.encode()))
