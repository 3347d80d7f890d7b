"""What a run hands to its listeners: events encoded once, and a bounded queue each."""

from __future__ import annotations

import asyncio
import json
from typing import Any

LISTENER_QUEUE = 256
"""Events a listener may have waiting; the run pauses for a full one (see app/runner.py)."""

encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Event:
    """One SSE message. ``id`` alone is a checkpoint; ``progress`` has no ``id``."""

    __slots__ = ("id", "event", "data", "_data_json", "_encoded")

    def __init__(
        self,
        id: str | None,
        event: str | None,
        data: dict[str, Any] | None,
        data_json: str | None = None,
    ) -> None:
        self.id = id
        self.event = event
        self.data = data
        self._data_json = data_json
        self._encoded: bytes | None = None

    def encode(self) -> bytes:
        """The event's bytes on the wire, built once however many listeners send it."""
        if self._encoded is None:
            text = "" if self.id is None else f"id: {self.id}\n"
            if self.event is not None:
                text += f"event: {self.event}\n"
            if self.data is not None:
                text += f"data: {self._data_json or encode_json(self.data)}\n"
            self._encoded = (text + "\n").encode()
        return self._encoded

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "data": self.data}

    @property
    def ends_job(self) -> bool:
        return self.event == "done" or self.event == "error"


class Signal:
    """``asyncio.Event`` for one waiter, without its deque: a future exists only while
    someone waits. Every open stream holds two, so their size counts."""

    __slots__ = ("is_set", "_waiter")

    def __init__(self) -> None:
        self.is_set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self.is_set = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.is_set = False

    def wait(self) -> asyncio.Future[None]:
        """Await it: done once set (a future, not a coroutine: no frame while waiting)."""
        waiter = asyncio.get_running_loop().create_future()
        if self.is_set:
            waiter.set_result(None)
        else:
            self._waiter = waiter
        return waiter


class Listener:
    """One stream's or batch's queue of events from a run."""

    __slots__ = ("events", "wakeup", "closed", "_room")

    def __init__(self, room: Signal) -> None:
        self.events: list[Event] = []
        self.wakeup = Signal()
        self.closed = False
        self._room = room

    @property
    def full(self) -> bool:
        return len(self.events) >= LISTENER_QUEUE

    def push(self, event: Event) -> None:
        events = self.events
        if event.event == "progress" and events and events[-1].event == "progress":
            events[-1] = event
        else:
            events.append(event)
        self.wakeup.set()

    def take(self) -> list[Event]:
        taken = self.events
        self.events = []
        self.wakeup.clear()
        self._room.set()
        return taken

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()
