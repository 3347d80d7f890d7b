"""A raw SSE reader for tests: unlike httpx-sse it also yields comments
(heartbeats) and ``retry`` lines, which is what some tests are about."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class RawEvent:
    event: str = "message"
    id: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def is_heartbeat(self) -> bool:
        return bool(self.comments) and not self.data

    @property
    def is_checkpoint(self) -> bool:
        """An ``id:`` alone: EventSource adopts the id without firing an event."""
        return self.id is not None and not self.data and not self.comments


async def read_events(response: httpx.Response) -> AsyncIterator[RawEvent]:
    """Every block of the stream: events and comment-only heartbeats."""
    current = RawEvent()
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            current.data = "\n".join(data_lines)
            if data_lines or current.comments or current.retry is not None or current.id:
                yield current
            current, data_lines = RawEvent(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            data_lines.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.retry = int(value)


async def collect(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: str | None = None,
    stop_after_steps: int | None = None,
    keep_checkpoints: bool = False,
) -> tuple[httpx.Response, list[RawEvent]]:
    """Read a stream to its end, or drop the connection after ``stop_after_steps`` steps."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events: list[RawEvent] = []
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            return response, events
        steps = 0
        async for event in read_events(response):
            if event.is_heartbeat or (event.is_checkpoint and not keep_checkpoints):
                continue
            events.append(event)
            steps += event.event == "step"
            if stop_after_steps is not None and steps >= stop_after_steps:
                break
    return response, events


def steps_of(events: list[RawEvent]) -> list[int]:
    return [e.json["index"] for e in events if e.event == "step"]
