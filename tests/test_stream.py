"""The stream as a client sees it, from a real uvicorn over real HTTP."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from tests.servers import Server
from tests.sse import collect, read_events, steps_of

pytestmark = pytest.mark.anyio


async def test_stream_runs_every_step_once_in_order_then_done(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response, events = await collect(client, "/api/sleep/events?steps=6&wait=0.05")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    assert [e.event for e in events] == ["start"] + ["step"] * 6 + ["done"]
    start = events[0]
    assert start.retry == 2000
    assert start.json["kind"] == "sleep"
    assert start.json["total"] == 6
    assert start.json["next"] == 0
    assert start.json["resumed"] is False
    assert steps_of(events) == list(range(6))
    assert [e.json["result"] for e in events[1:-1]] == [{"count": n} for n in range(1, 7)]
    assert all(e.json["ok"] is True and e.json["total"] == 6 for e in events[1:-1])
    assert events[-1].json == {"total": 6, "ok": 6, "failed": 0}
    assert len({e.id for e in events}) == len(events)


async def test_created_job_streams_from_its_events_url(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        created = await client.post(
            "/api/jobs", json={"kind": "sleep", "params": {"steps": 3, "wait": 0}}
        )
        assert created.status_code == 201
        body = created.json()
        assert body["kind"] == "sleep" and body["total"] == 3
        assert body["events_url"] == f"/api/jobs/{body['job']}/events"
        assert body["steps_url"] == f"/api/jobs/{body['job']}/steps"
        shown = await client.get(f"/api/jobs/{body['job']}")
        assert shown.json()["params"] == {"steps": 3, "wait": 0.0}
        _, events = await collect(client, body["events_url"])
    assert events[0].json["job"] == body["job"]
    assert steps_of(events) == [0, 1, 2]


async def test_first_event_arrives_at_once_whatever_the_job(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        started = time.monotonic()
        async with client.stream("GET", "/api/sleep/events?steps=2&wait=60") as response:
            async for event in read_events(response):
                assert event.event == "start"
                break
        assert time.monotonic() - started < 1.0


async def test_heartbeats_flow_while_one_step_runs_long(server: Server) -> None:
    """A step of 60 s with a 1 s heartbeat: comments keep coming, no step yet."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        async with client.stream("GET", "/api/sleep/events?steps=1&wait=60") as response:
            seen: list[str] = []
            arrivals: list[float] = []
            with anyio.fail_after(10):
                async for event in read_events(response):
                    seen.append("heartbeat" if event.is_heartbeat else event.event)
                    if event.is_heartbeat:
                        assert event.comments == ["keepalive"]
                        arrivals.append(time.monotonic())
                    if len(arrivals) == 3:
                        break
    assert seen == ["start", "heartbeat", "heartbeat", "heartbeat"]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert all(0.5 < gap < 2.5 for gap in gaps), gaps


async def test_max_stream_seconds_ends_a_response_between_steps(output_dir) -> None:
    env = {"STEPSTREAM_MAX_STREAM_SECONDS": "0.5", "STEPSTREAM_HEARTBEAT": "5"}
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            url = "/api/sleep/events?steps=6&wait=0.3"
            seen: list[int] = []
            cursor = None
            responses = 0
            with anyio.fail_after(20):
                while True:
                    _, events = await collect(client, url, last_event_id=cursor)
                    if not events:
                        break
                    responses += 1
                    seen += steps_of(events)
                    cursor = events[-1].id
                    if events[-1].event == "done":
                        break
    assert seen == list(range(6))
    assert responses >= 3


async def test_client_that_leaves_stops_its_work(server: Server) -> None:
    async def metric(client: httpx.AsyncClient, name: str) -> float:
        text = (await client.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} not in /metrics")

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        async with client.stream("GET", "/api/sleep/events?steps=1&wait=1.5") as response:
            async for event in read_events(response):
                assert event.event == "start"
                break
            assert await metric(client, "stepstream_open_streams") == 1
        left = time.monotonic()
        with anyio.fail_after(1.0):
            while await metric(client, "stepstream_open_streams") != 0:
                await anyio.sleep(0.02)
        assert time.monotonic() - left < 1.0
        # The 1.5 s step was cancelled, not finished for nobody: no step is ever counted.
        await anyio.sleep(max(0, left + 2.0 - time.monotonic()))
        assert await metric(client, 'stepstream_step_duration_seconds_count{kind="sleep"}') == 0
