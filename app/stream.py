"""The SSE response: ``start`` at once, then the runner's events, with heartbeats.

Built on sse-starlette's EventSourceResponse, which already sends the
heartbeat comments from a task of their own (so they flow while one step runs
for minutes), cancels the generator when the client disconnects (so its step
stops at once), and tells us when uvicorn is asked to exit. What we add: a
bounded number of open streams, a cap on a response's length, metrics, and a
clean end on shutdown: the running step is interrupted and the response ends
properly between two events (sse-starlette alone would cut it mid-chunk), so
clients reconnect elsewhere and resume.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from app.errors import TooManyStreams
from app.metrics import Metrics
from app.runner import Event, Job, Runner
from app.settings import Settings
from app.tokens import Cursor

SHUTDOWN_GRACE_SECONDS = 2.0
T = TypeVar("T")
STREAM_HEADERS = {
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",
}


def encode_json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class StreamSlots:
    """Counts open streams; past the cap a new one is refused before it starts."""

    def __init__(self, limit: int, metrics: Metrics) -> None:
        self.limit = limit
        self.open = 0
        self._metrics = metrics

    def acquire(self) -> None:
        if self.open >= self.limit:
            self._metrics.refused_streams.inc()
            raise TooManyStreams(
                "Too many streams are open; try again shortly.", headers={"Retry-After": "5"}
            )
        self.open += 1
        self._metrics.open_streams.inc()

    def release(self) -> None:
        self.open -= 1
        self._metrics.open_streams.dec()


class JobStream(EventSourceResponse):
    """An EventSourceResponse that holds a stream slot until it ends, however it ends."""

    def __init__(
        self,
        content: AsyncIterator[ServerSentEvent],
        slots: StreamSlots,
        settings: Settings,
        metrics: Metrics,
        shutdown: anyio.Event,
    ) -> None:
        def heartbeat() -> ServerSentEvent:
            metrics.heartbeats.inc()
            return ServerSentEvent(comment="keepalive", sep="\n")

        super().__init__(
            content,
            headers=STREAM_HEADERS,
            ping=settings.heartbeat,
            ping_message_factory=heartbeat,
            sep="\n",
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.release()


def open_stream(
    job: Job,
    cursor: Cursor,
    *,
    resumed: bool,
    runner: Runner,
    slots: StreamSlots,
    settings: Settings,
    metrics: Metrics,
) -> JobStream:
    """Take a slot and build the response; raises TooManyStreams before anything is sent."""
    slots.acquire()
    shutdown = anyio.Event()
    content = _events(job, cursor, resumed, runner, settings, metrics, shutdown)
    return JobStream(content, slots, settings, metrics, shutdown)


async def _events(
    job: Job,
    cursor: Cursor,
    resumed: bool,
    runner: Runner,
    settings: Settings,
    metrics: Metrics,
    shutdown: anyio.Event,
) -> AsyncIterator[ServerSentEvent]:
    started = time.monotonic()
    start = {
        "job": job.token,
        "kind": job.kind.name,
        "total": job.total,
        "next": cursor.next,
        "resumed": resumed,
        "events_url": job.events_url,
    }
    metrics.events.labels("start").inc()
    yield ServerSentEvent(
        encode_json(start),
        id=runner.cursor_token(cursor),
        event="start",
        retry=settings.retry_ms,
        sep="\n",
    )
    cap = settings.max_stream_seconds
    async with aclosing(_until_set(shutdown, runner.events(job, cursor))) as events:
        async for event in events:
            metrics.events.labels(event.event).inc()
            yield _sse(event)
            if cap and time.monotonic() - started >= cap:
                return


def _sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(encode_json(event.data), id=event.id, event=event.event, sep="\n")


async def _until_set(stop: anyio.Event, source: AsyncGenerator[T]) -> AsyncGenerator[T]:
    """Items of ``source`` until ``stop`` is set; then the pending one is cancelled.

    Each item is awaited in a task of its own so that ``stop`` cancels just that
    work (a step), not the response, which can then end cleanly.
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Task[T] | None = None

    def interrupt() -> None:
        if pending is not None:
            pending.cancel()

    watcher = loop.create_task(_call_when_set(stop, interrupt))
    try:
        while not stop.is_set():
            pending = loop.create_task(_next(source))
            try:
                item = await pending
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                return
            yield item
    finally:
        watcher.cancel()
        await source.aclose()


async def _next(source: AsyncGenerator[T]) -> T:
    return await anext(source)


async def _call_when_set(event: anyio.Event, callback: Callable[[], None]) -> None:
    await event.wait()
    callback()
