"""Runs a job's steps from a cursor and turns each into an event.

The SSE stream and the JSON fallback both consume ``Runner.events``, so a loop
of fallback requests gives exactly the events the stream would have sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from app.jobs.base import JobFailed, JobKind, Params
from app.metrics import Metrics
from app.tokens import Cursor, JobSpec, TokenCodec

logger = logging.getLogger("stepstream")


@dataclass(frozen=True, slots=True)
class Job:
    spec: JobSpec
    token: str
    kind: JobKind[Any]
    params: Params
    total: int

    @property
    def events_url(self) -> str:
        return f"/api/jobs/{self.token}/events"

    @property
    def steps_url(self) -> str:
        return f"/api/jobs/{self.token}/steps"


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    event: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "data": self.data}


@dataclass(frozen=True, slots=True)
class Batch:
    events: list[Event]
    cursor: str
    done: bool


class Runner:
    def __init__(self, codec: TokenCodec, metrics: Metrics) -> None:
        self._codec = codec
        self._metrics = metrics

    def cursor_token(self, cursor: Cursor) -> str:
        return self._codec.dump_cursor(cursor)

    async def events(self, job: Job, cursor: Cursor) -> AsyncGenerator[Event]:
        """Step events from ``cursor`` on, then ``done`` (or ``error``).

        Cancelling the consumer cancels the running step: nothing runs on for
        a client that has gone.
        """
        index, failed, state = cursor.next, cursor.failed, cursor.state
        step_seconds = self._metrics.step_seconds.labels(job.kind.name)
        while index < job.total:
            started = time.perf_counter()
            try:
                step = await job.kind.step(job.params, index, state)
            except JobFailed as exc:
                yield self._error(cursor, exc.code, exc.message)
                return
            except Exception:
                logger.exception("step %d of job %s crashed", index, job.spec.id)
                yield self._error(cursor, "step_crashed", f"Step {index} failed unexpectedly.")
                return
            elapsed = time.perf_counter() - started
            step_seconds.observe(elapsed)
            failed += not step.ok
            state = step.state
            cursor = Cursor(job.spec.id, index + 1, failed, state)
            yield Event(
                self._codec.dump_cursor(cursor),
                "step",
                {
                    "index": index,
                    "total": job.total,
                    "ok": step.ok,
                    "result": step.result,
                    "elapsed_ms": round(elapsed * 1000, 1),
                },
            )
            index += 1
        final = Cursor(job.spec.id, job.total, failed, final=True)
        yield Event(
            self._codec.dump_cursor(final),
            "done",
            {"total": job.total, "ok": job.total - failed, "failed": failed},
        )

    def _error(self, cursor: Cursor, code: str, message: str) -> Event:
        return Event(self._codec.dump_cursor(cursor), "error", {"code": code, "message": message})

    async def batch(self, job: Job, cursor: Cursor, budget: float) -> Batch:
        """As many events as fit in ``budget`` seconds, and always at least one.

        A step still running when the budget is spent is cancelled and runs
        again in the next batch; only the first step may overrun the budget, so
        every batch makes progress.
        """
        events: list[Event] = []
        deadline = time.monotonic() + budget
        stream = self.events(job, cursor)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if events and remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining if events else None):
                        event = await anext(stream)
                except (StopAsyncIteration, TimeoutError):
                    break
                events.append(event)
                if event.event != "step":
                    break
        finally:
            await stream.aclose()
        done = bool(events) and events[-1].event == "done"
        last = events[-1].id if events else self.cursor_token(cursor)
        return Batch(events, last, done)
