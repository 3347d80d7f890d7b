"""People's own kinds on a real server: threads, progress, and stepstream mounted in a host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.servers import Server, wait_until
from tests.sse import RawEvent, collect, read_events, steps_of

pytestmark = pytest.mark.anyio

KINDS = {"STEPSTREAM_KINDS": "sleep,tests.plugin_kinds:blocking,tests.plugin_kinds:reporting"}


@pytest.fixture
def plugin_server(output_dir: Path) -> Iterator[Server]:
    env = {"STEPSTREAM_HEARTBEAT": "1", **KINDS}
    with Server(env, log_path=output_dir / "server.log") as running:
        yield running


async def test_a_blocking_step_abandoned_by_its_client_never_sends_nor_goes_on(
    plugin_server: Server, tmp_path: Path
) -> None:
    """A def step that blocks 3 s; the client leaves after 0.5 s: its result is thrown
    away and the next step never starts (the step notes each start and end in a file)."""
    log = tmp_path / "steps.log"
    url = f"/api/blocking/events?steps=3&seconds=3&log={log}"
    async with httpx.AsyncClient(base_url=plugin_server.url, timeout=10) as client:
        with anyio.move_on_after(0.5):
            await collect(client, url)
    wait_until(lambda: "end 0" in log.read_text(), 6, what="the abandoned step to return")
    time.sleep(0.5)  # the next step would have started at once: give it the chance
    assert log.read_text().split("\n") == ["start 0", "end 0", ""]
    metrics = httpx.get(f"{plugin_server.url}/metrics").text
    assert 'stepstream_events_total{event="step"} 0.0' in metrics


async def test_progress_arrives_during_a_step_without_an_id_and_resume_is_at_the_step(
    plugin_server: Server,
) -> None:
    url = "/api/reporting/events?steps=2&seconds=1"
    seen: list[RawEvent] = []
    async with httpx.AsyncClient(base_url=plugin_server.url, timeout=10) as client:
        with anyio.fail_after(10):
            async with client.stream("GET", url) as response:
                async for event in read_events(response):
                    if event.is_heartbeat:
                        continue
                    seen.append(event)
                    if event.event == "progress" and event.json["index"] == 1:
                        break  # mid-way through the second step
        kinds = [e.event for e in seen]
        assert kinds[0] == "start" and "step" in kinds
        progress = [e for e in seen if e.event == "progress"]
        assert progress and all(e.id is None for e in progress)
        assert [e.json["index"] for e in progress][:3] == [0, 0, 0]
        assert 0 <= progress[0].json["fraction"] < 1 and progress[0].json["message"]
        last_id = [e.id for e in seen if e.id][-1]
        _, rest = await collect(client, url, last_event_id=last_id)
    assert rest[0].json["next"] == 1 and rest[0].json["resumed"] is True
    assert steps_of(rest) == [1] and rest[-1].event == "done"


@pytest.fixture
def host(output_dir: Path) -> Iterator[Server]:
    env = {"STEPSTREAM_HEARTBEAT": "1"}
    with Server(
        env,
        log_path=output_dir / "server.log",
        app="tests.host_app:app",
        health_path="/jobs/healthz",
    ) as running:
        yield running


async def test_mounted_under_a_prefix_every_url_stays_under_it(host: Server) -> None:
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as client:
        assert (await client.get("/")).text == "the host's own page"
        page = await client.get("/jobs/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        kinds = (await client.get("/jobs/api/kinds")).json()["kinds"]
        assert [kind["name"] for kind in kinds] == ["sleep", "scrape"]

        job = (
            await client.post(
                "/jobs/api/jobs", json={"kind": "sleep", "params": {"steps": 4, "wait": 0.05}}
            )
        ).json()
        assert job["events_url"].startswith("/jobs/api/jobs/")
        assert job["steps_url"].startswith("/jobs/api/jobs/")

        _, first = await collect(client, job["events_url"], stop_after_steps=2)
        assert first[0].json["events_url"] == job["events_url"]
        _, rest = await collect(client, job["events_url"], last_event_id=first[-1].id)
        assert steps_of(first) + steps_of(rest) == [0, 1, 2, 3]

        batch = (await client.post(job["steps_url"], json={"cursor": first[-1].id})).json()
        assert [e["data"].get("index") for e in batch["events"]] == [2, 3, None]
        oneliner = await client.get("/jobs/api/sleep/events?steps=1&wait=0")
        assert "/jobs/api/jobs/" in oneliner.text


async def test_a_mounted_app_still_ends_its_streams_on_sigterm(host: Server) -> None:
    """Starlette runs no lifespan for a mounted app: the first request installs the watch."""
    events: list[RawEvent] = []
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as client:
        with anyio.fail_after(20):
            async with client.stream("GET", "/jobs/api/sleep/events?steps=50&wait=0.1") as response:
                async for event in read_events(response):
                    events.append(event)
                    if len(steps_of(events)) == 2:
                        exit_seconds = await anyio.to_thread.run_sync(host.terminate)
    assert exit_seconds < 3
    assert events[-1].event == "step"
