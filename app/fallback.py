"""The JSON fallback: a batch of a job's events per request, for buffering proxies.

A batch follows the job's run like a stream does (joining one at its position),
and collects step events for ``budget`` seconds, at most ``max_events`` of them.
The first step may overrun the budget, so every batch makes progress; a step
still running when the budget is spent runs again in the next batch, from the
last checkpoint it handed out if it did.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from app.events import Event
from app.runner import Job, Runs
from app.tokens import Cursor, TokenCodec


@dataclass(frozen=True, slots=True)
class Batch:
    events: list[Event]
    cursor: str
    done: bool


async def run_batch(
    runs: Runs, codec: TokenCodec, job: Job, cursor: Cursor, budget: float, max_events: int
) -> Batch:
    run, listener = runs.follow(job, cursor)
    events: list[Event] = []
    resume_at = codec.dump_cursor(cursor)
    deadline = time.monotonic() + budget
    try:
        while not listener.closed or listener.events:
            if not listener.events:
                remaining = deadline - time.monotonic()
                if events and remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining if events else None):
                        await listener.wakeup.wait()
                except TimeoutError:
                    break
            for event in listener.take():
                if event.event is None:
                    resume_at = event.id or resume_at
                elif event.event != "progress":
                    events.append(event)
                    resume_at = event.id or resume_at
                    if event.ends_job or len(events) >= max_events:
                        return _batch(events, resume_at)
    finally:
        run.leave(listener)
    return _batch(events, resume_at)


def _batch(events: list[Event], resume_at: str) -> Batch:
    return Batch(events, resume_at, bool(events) and events[-1].event == "done")
