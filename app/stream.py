"""The SSE response: ``start`` at once, then the run's events, with heartbeats.

Deliberate divergences from sse-starlette's ``EventSourceResponse``, whose
encoding we keep (``ServerSentEvent`` for the rare events; a step event's
bytes are built directly, and a test holds them equal to its encoding):

1. One task per stream besides the job's run: the response loop waits on its
   listener with a timeout for the next heartbeat, instead of a task group
   with a ping task, a disconnect task and a task per event.
2. Events that are ready in the same loop turn go out in one ``send``.
3. Shutdown ends a stream between two events (the run is interrupted, what it
   completed is flushed, the body ends properly), never mid-chunk, and without
   ``done``: every completed step's cursor is already out.
4. Disconnects are noticed by one waiting ``receive`` (a task), which closes the
   listener at once so the run stops within the same loop turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sse_starlette import ServerSentEvent
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.errors import StepstreamError, TooManyClientStreams, TooManyStreams
from app.events import Event, Listener, encode_json
from app.metrics import Metrics
from app.runner import JobRun
from app.settings import Settings

RETRY_AFTER_SECONDS = "5"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store, no-transform"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]
KEEPALIVE = ServerSentEvent(comment="keepalive", sep="\n").encode()
END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


class StreamSlots:
    """Counts open streams, in all and per client; past a cap a new one is refused."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.limit = settings.max_streams
        self.per_client = settings.max_streams_per_client
        self.open = 0
        self.by_client: dict[str, int] = {}
        self._metrics = metrics

    def acquire(self, client: str) -> None:
        held = self.by_client.get(client, 0)
        if self.open >= self.limit:
            self._refuse(TooManyStreams, "Too many streams are open; try again shortly.")
        if held >= self.per_client:
            self._refuse(TooManyClientStreams, f"This client holds {held} streams already.")
        self.open += 1
        self.by_client[client] = held + 1
        self._metrics.open_streams.inc()

    def _refuse(self, error: type[StepstreamError], message: str) -> None:
        self._metrics.refused_streams.inc()
        raise error(message, headers={"Retry-After": RETRY_AFTER_SECONDS})

    def release(self, client: str) -> None:
        self.open -= 1
        held = self.by_client.pop(client, 1) - 1
        if held:
            self.by_client[client] = held
        self._metrics.open_streams.dec()


def headers_only() -> Response:
    """A HEAD of a stream: its headers and no body, and no job run for it (a HEAD that
    streamed would never end, wedging a keep-alive connection)."""
    return Response(headers={name.decode(): value.decode() for name, value in HEADERS})


def start_event(cursor_id: str, data: dict[str, Any], retry_ms: int) -> bytes:
    return ServerSentEvent(
        encode_json(data), id=cursor_id, event="start", retry=retry_ms, sep="\n"
    ).encode()


class EventStream:
    """The ASGI response of one stream: holds its slot and its listener until it ends."""

    def __init__(
        self,
        start: bytes,
        run: JobRun,
        listener: Listener,
        *,
        settings: Settings,
        metrics: Metrics,
        slots: StreamSlots,
        client: str,
    ) -> None:
        self._start = start
        self._run = run
        self._listener = listener
        self._heartbeat = settings.heartbeat
        self._cap = settings.max_stream_seconds
        self._metrics = metrics
        self._slots = slots
        self._client = client
        self._disconnected = False
        self._beat = False
        self._written_at = 0.0
        self._beat_timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.get_running_loop().create_task(self._watch(receive))
        try:
            await self._stream(send)
        except OSError:
            pass  # the client went away while we wrote
        finally:
            watcher.cancel()
            self._run.leave(self._listener)
            self._slots.release(self._client)

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._disconnected = True
        self._listener.close()

    async def _stream(self, send: Send) -> None:
        metrics = self._metrics
        listener = self._listener
        loop = asyncio.get_running_loop()
        ends = loop.time() + self._cap if self._cap else None
        await send({"type": "http.response.start", "status": 200, "headers": list(HEADERS)})
        start, self._start = self._start, b""
        await send({"type": "http.response.body", "body": start, "more_body": True})
        metrics.count_event("start")
        self._written_at = loop.time()
        self._beat_timer = loop.call_at(self._written_at + self._heartbeat, self._beat_due)
        try:
            while not self._disconnected:
                if not listener.events:
                    if listener.closed:
                        break
                    await listener.wakeup.wait()
                    if self._disconnected:
                        return
                if self._beat:
                    await self._heartbeat_if_idle(send, loop)
                events = listener.take()
                if not events:
                    continue
                await send({"type": "http.response.body", "body": _join(events), "more_body": True})
                self._written_at = loop.time()
                metrics.count_events(events)
                if events[-1].ends_job:
                    break
                if ends is not None and self._written_at >= ends and events[-1].event == "step":
                    break
        finally:
            if self._beat_timer is not None:
                self._beat_timer.cancel()
        if not self._disconnected:
            await send(END)

    def _beat_due(self) -> None:
        self._beat = True
        self._listener.wakeup.set()

    async def _heartbeat_if_idle(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        """One timer per stream, moved on when events went out meanwhile (no timer per wait)."""
        self._beat = False
        now = loop.time()
        if now - self._written_at >= self._heartbeat * 0.99:
            await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
            self._metrics.heartbeats.inc()
            self._written_at = now
        self._beat_timer = loop.call_at(self._written_at + self._heartbeat, self._beat_due)


def _join(events: list[Event]) -> bytes:
    if len(events) == 1:
        return events[0].encode()
    return b"".join([event.encode() for event in events])
