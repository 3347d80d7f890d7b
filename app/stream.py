"""The SSE response: ``start`` at once, then the runner's events, with heartbeats.

Built on sse-starlette's EventSourceResponse, which already sends the
heartbeat comments from a task of their own (so they flow while one step runs
for minutes), cancels the generator when the client disconnects (so its step
stops at once), and cancels it when uvicorn is told to exit (so SIGTERM does not
wait on open streams). What we add: a bounded number of open streams, a cap on
a response's length, and the metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from app.errors import TooManyStreams
from app.metrics import Metrics
from app.runner import Event, Job, Runner
from app.settings import Settings
from app.tokens import Cursor

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
    return JobStream(
        _events(job, cursor, resumed, runner, settings, metrics), slots, settings, metrics
    )


async def _events(
    job: Job,
    cursor: Cursor,
    resumed: bool,
    runner: Runner,
    settings: Settings,
    metrics: Metrics,
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
    async for event in runner.events(job, cursor):
        metrics.events.labels(event.event).inc()
        yield _sse(event)
        if cap and time.monotonic() - started >= cap:
            return


def _sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(encode_json(event.data), id=event.id, event=event.event, sep="\n")
