"""SIGTERM ends open streams at once and cleanly, so clients resume elsewhere."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from tests.servers import Server
from tests.sse import RawEvent, collect, read_events, steps_of

pytestmark = pytest.mark.anyio

URL = "/api/sleep/events?steps=12&wait=0.15"


async def test_sigterm_ends_streams_between_events_and_resume_loses_nothing(
    output_dir: Path,
) -> None:
    env = {"STEPSTREAM_HEARTBEAT": "1"}
    server = Server(env, log_path=output_dir / "server.log").start()
    received: list[list[RawEvent]] = [[], [], []]
    ready = anyio.Event()

    async def hold(client: httpx.AsyncClient, events: list[RawEvent]) -> None:
        async with client.stream("GET", URL) as response:
            async for event in read_events(response):
                if not event.is_heartbeat:
                    events.append(event)
                if all(steps_of(e) for e in received):
                    ready.set()

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    for events in received:
                        group.start_soon(hold, client, events)
                    await ready.wait()
                    exit_seconds = await anyio.to_thread.run_sync(server.terminate)
        assert exit_seconds < 3, exit_seconds
        replacement = Server(env, port=server.port, log_path=output_dir / "server.log").start()
        server = replacement
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for events in received:
                assert events[-1].event == "step"  # cut between events, without done
                _, rest = await collect(client, URL, last_event_id=events[-1].id)
                assert steps_of(events) + steps_of(rest) == list(range(12))
    finally:
        server.stop()
