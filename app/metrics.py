"""Prometheus metrics, in a registry per app so that tests can build many apps."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from app.events import Event


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.open_streams = Gauge(
            "stepstream_open_streams", "Event streams open now.", registry=self.registry
        )
        self.events = Counter(
            "stepstream_events", "Events sent, by event type.", ["event"], registry=self.registry
        )
        self.resumes = Counter(
            "stepstream_resumes",
            "Streams and batches resumed from a cursor.",
            registry=self.registry,
        )
        self.heartbeats = Counter(
            "stepstream_heartbeats", "Heartbeat comments sent.", registry=self.registry
        )
        self.refused_streams = Counter(
            "stepstream_refused_streams",
            "Streams refused for lack of a slot.",
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "stepstream_step_duration_seconds",
            "How long one step took, by job kind.",
            ["kind"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )

        self._step_children: dict[str, Histogram] = {}
        self._event_counters = {
            name: self.events.labels(name)
            for name in ("start", "step", "progress", "done", "error", "checkpoint")
        }

    def step_seconds_of(self, kind: str) -> Histogram:
        """The kind's child of ``step_seconds``, looked up once (``labels`` takes a lock)."""
        child = self._step_children.get(kind)
        if child is None:
            child = self._step_children[kind] = self.step_seconds.labels(kind)
        return child

    def count_event(self, name: str) -> None:
        self._event_counters[name].inc()

    def count_events(self, events: Iterable[Event]) -> None:
        """The one place events are counted, as sent to a client."""
        tally = Tally(event.event or "checkpoint" for event in events)
        for name, count in tally.items():
            self._event_counters[name].inc(count)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
