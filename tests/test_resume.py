"""Resume from a cursor after a drop, a crash, or the end: every step exactly once."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from tests.servers import Server
from tests.sse import collect, read_events, steps_of

pytestmark = pytest.mark.anyio

URL = "/api/sleep/events?steps=8&wait=0.05"


@pytest.mark.parametrize("how", ["header", "query"])
async def test_drop_then_resume_gives_every_step_once(server: Server, how: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        _, first = await collect(client, URL, stop_after_steps=3)
        cursor = first[-1].id
        assert cursor is not None
        if how == "header":
            _, rest = await collect(client, URL, last_event_id=cursor)
        else:
            _, rest = await collect(client, f"{URL}&last_event_id={cursor}")
    assert steps_of(first) == [0, 1, 2]
    assert rest[0].event == "start"
    assert rest[0].json["resumed"] is True and rest[0].json["next"] == 3
    assert steps_of(first) + steps_of(rest) == list(range(8))
    assert rest[-1].event == "done"
    assert rest[-1].json == {"total": 8, "ok": 8, "failed": 0}


async def test_header_wins_over_query(server: Server) -> None:
    """A reconnecting EventSource sends its newest id as a header on the old URL."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        _, first = await collect(client, URL, stop_after_steps=4)
        old, new = first[1].id, first[-1].id
        _, rest = await collect(client, f"{URL}&last_event_id={old}", last_event_id=new)
    assert steps_of(rest) == [4, 5, 6, 7]


async def test_resume_on_the_created_jobs_url(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        created = await client.post(
            "/api/jobs", json={"kind": "sleep", "params": {"steps": 5, "wait": 0.05}}
        )
        url = created.json()["events_url"]
        _, first = await collect(client, url, stop_after_steps=2)
        _, rest = await collect(client, url, last_event_id=first[-1].id)
    assert steps_of(first) + steps_of(rest) == [0, 1, 2, 3, 4]


async def test_resume_from_the_start_event_id(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        async with client.stream("GET", URL) as response:
            async for event in read_events(response):
                start_id = event.id
                break
        _, events = await collect(client, URL, last_event_id=start_id)
    assert steps_of(events) == list(range(8))


async def test_final_cursor_answers_204(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        _, events = await collect(client, URL)
        assert events[-1].event == "done"
        response, after = await collect(client, URL, last_event_id=events[-1].id)
        assert response.status_code == 204 and after == []
        steps = await client.post(
            f"{events[0].json['events_url'].removesuffix('/events')}/steps",
            json={"cursor": events[-1].id},
        )
        assert steps.json() == {"events": [], "cursor": events[-1].id, "done": True}


async def test_cursor_after_the_last_step_gets_start_and_done(server: Server) -> None:
    """The client saw the last step but not ``done``."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        _, events = await collect(client, URL)
        last_step = [e for e in events if e.event == "step"][-1]
        _, after = await collect(client, URL, last_event_id=last_step.id)
    assert [e.event for e in after] == ["start", "done"]
    assert after[-1].json == {"total": 8, "ok": 8, "failed": 0}


async def test_sigkill_mid_job_then_restart_loses_nothing(output_dir: Path) -> None:
    url = "/api/sleep/events?steps=6&wait=0.3"
    server = Server({"STEPSTREAM_HEARTBEAT": "1"}, log_path=output_dir / "server.log").start()
    seen: list[int] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            cursor = None
            with pytest.raises(httpx.HTTPError):
                async with client.stream("GET", url) as response:
                    async for event in read_events(response):
                        if event.event == "step":
                            seen.append(event.json["index"])
                            cursor = event.id
                            if len(seen) == 2:
                                server.kill()
            assert seen == [0, 1]
            server = Server(server.env, port=server.port, log_path=output_dir / "server.log")
            server.start()
            with anyio.fail_after(20):
                _, rest = await collect(client, url, last_event_id=cursor)
    finally:
        server.stop()
    assert seen + steps_of(rest) == list(range(6))
    assert rest[-1].event == "done"
