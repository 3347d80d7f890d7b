"""The stream at the ASGI level: raw ``receive``/``send``, no server, exact messages.

Starlette's TestClient and httpx's ASGITransport buffer a whole body, so they
cannot show these; a real server shows them too (tests/test_stream.py), this
shows exactly what the app hands to the server, and when.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message

from app.applications import create_app
from app.settings import Settings

pytestmark = pytest.mark.anyio


class Conversation:
    """One request to the app: what it sent, and a way to hang up."""

    def __init__(
        self, path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers or [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.sent: list[Message] = []
        self.changed = asyncio.Event()
        self._hang_up = asyncio.Event()

    async def receive(self) -> Message:
        await self._hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.changed.set()

    def hang_up(self) -> None:
        self._hang_up.set()

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    async def wait_for(self, condition: Any, timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def app_with(**settings: Any) -> Any:
    return create_app(Settings(secret_key=["k"], **settings))


async def test_events_ready_in_one_turn_go_out_in_one_send_in_order() -> None:
    app = app_with()
    talk = Conversation("/api/sleep/events", "steps=50&wait=0")
    await asyncio.wait_for(app(talk.scope, talk.receive, talk.send), 10)
    start, *bodies, end = talk.sent
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert end == {"type": "http.response.body", "body": b"", "more_body": False}
    blocks = talk.body.split(b"\n\n")[:-1]
    names = [
        line.split(b": ", 1)[1]
        for block in blocks
        for line in block.split(b"\n")
        if line.startswith(b"event:")
    ]
    assert names == [b"start"] + [b"step"] * 50 + [b"done"]
    indexes = [int(b.split(b'"index":')[1].split(b",")[0]) for b in blocks if b"event: step" in b]
    assert indexes == list(range(50))
    assert len(bodies) <= 52


async def test_heartbeat_bytes_flow_while_a_step_runs() -> None:
    app = app_with(heartbeat=0.05)
    talk = Conversation("/api/sleep/events", "steps=1&wait=30")
    task = asyncio.create_task(app(talk.scope, talk.receive, talk.send))
    await talk.wait_for(lambda: talk.body.count(b": keepalive\n\n") >= 2)
    talk.hang_up()
    await asyncio.wait_for(task, 2)
    assert b"event: step" not in talk.body


async def test_a_disconnect_ends_the_response_and_stops_the_step() -> None:
    app = app_with()
    state = app.state.stepstream
    talk = Conversation("/api/sleep/events", "steps=3&wait=30")
    task = asyncio.create_task(app(talk.scope, talk.receive, talk.send))
    await talk.wait_for(lambda: b"event: start" in talk.body)
    talk.hang_up()
    await asyncio.wait_for(task, 1)
    assert state.slots.open == 0
    await asyncio.sleep(0)
    assert not state.runs.running


async def test_shutdown_mid_step_ends_after_a_whole_event_without_done() -> None:
    app = app_with()
    talk = Conversation("/api/sleep/events", "steps=5&wait=0.1")
    task = asyncio.create_task(app(talk.scope, talk.receive, talk.send))
    await talk.wait_for(lambda: talk.body.count(b"event: step") >= 2)
    app.state.stepstream.shutdown.trigger()
    await asyncio.wait_for(task, 1)
    assert talk.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert talk.body.endswith(b"\n\n") and b"event: done" not in talk.body
    assert talk.sent[-2]["body"].startswith(b"id: ")


async def test_past_the_stream_cap_a_stream_is_refused_before_it_starts() -> None:
    app = app_with(max_streams=1)
    first = Conversation("/api/sleep/events", "steps=1&wait=30")
    task = asyncio.create_task(app(first.scope, first.receive, first.send))
    await first.wait_for(lambda: b"event: start" in first.body)
    second = Conversation("/api/sleep/events", "steps=2&wait=30")
    await asyncio.wait_for(app(second.scope, second.receive, second.send), 2)
    assert second.sent[0]["status"] == 503
    assert (b"retry-after", b"5") in second.sent[0]["headers"]
    first.hang_up()
    await asyncio.wait_for(task, 1)


async def test_a_head_gets_the_stream_headers_and_no_stream() -> None:
    """A HEAD that streamed would never end; sse-starlette answered it with headers only."""
    app = app_with()
    talk = Conversation("/api/sleep/events", "steps=1&wait=30")
    talk.scope["method"] = "HEAD"
    await asyncio.wait_for(app(talk.scope, talk.receive, talk.send), 2)
    start = talk.sent[0]
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert talk.body == b""
    assert app.state.stepstream.slots.open == 0 and not app.state.stepstream.runs.running
