"""The baseline: a bare sse-starlette app streaming the same JSON as stepstream.

Same ``start``/``step``/``done`` events, same JSON encoding, same heartbeat
comment and interval (``STEPSTREAM_HEARTBEAT``), but plain counters as ids and
no job token, no cursor, no slots, no metrics: what stepstream adds is exactly
the difference. ``uvicorn bench.bare:app`` serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.events import encode_json
from app.settings import Settings

STREAM_HEADERS = {"Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no"}


async def _steps(steps: int, wait: float) -> AsyncIterator[ServerSentEvent]:
    start = {"kind": "sleep", "total": steps, "next": 0, "resumed": False}
    yield ServerSentEvent(encode_json(start), id="0", event="start", retry=2000, sep="\n")
    for index in range(steps):
        started = time.perf_counter()
        if wait:
            await asyncio.sleep(wait)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        data = {
            "index": index,
            "total": steps,
            "ok": True,
            "result": {"count": index + 1},
            "elapsed_ms": elapsed_ms,
        }
        yield ServerSentEvent(encode_json(data), id=str(index + 1), event="step", sep="\n")
    done = {"total": steps, "ok": steps, "failed": 0}
    yield ServerSentEvent(encode_json(done), id=str(steps), event="done", sep="\n")


def _heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="keepalive", sep="\n")


def create_bare_app(heartbeat: float) -> Starlette:
    async def events(request: Request) -> Response:
        steps = int(request.query_params.get("steps", "5"))
        wait = float(request.query_params.get("wait", "1"))
        return EventSourceResponse(
            _steps(steps, wait),
            headers=STREAM_HEADERS,
            ping=heartbeat,
            ping_message_factory=_heartbeat,
            sep="\n",
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/healthz", healthz), Route("/api/sleep/events", events)])


app = create_bare_app(Settings().heartbeat)
