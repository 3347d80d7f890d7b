"""The JSON steps endpoint: the old request-per-batch workaround, done right."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.servers import Server
from tests.sse import collect

pytestmark = pytest.mark.anyio


def essentials(event: dict) -> tuple:
    data = event["data"]
    if event["event"] == "step":
        return ("step", data["index"], data["ok"], data["result"])
    return (event["event"], data)


async def sleep_job(client: httpx.AsyncClient, **params: float) -> dict:
    response = await client.post("/api/jobs", json={"kind": "sleep", "params": params})
    assert response.status_code == 201
    job: dict = response.json()
    return job


async def run_batches(client: httpx.AsyncClient, steps_url: str) -> tuple[list[dict], int]:
    events: list[dict] = []
    cursor = None
    requests = 0
    while True:
        response = await client.post(steps_url, json={"cursor": cursor} if cursor else {})
        assert response.status_code == 200
        body = response.json()
        requests += 1
        events += body["events"]
        cursor = body["cursor"]
        if body["done"]:
            return events, requests
        assert requests < 50


async def test_a_loop_of_batches_equals_the_stream(output_dir) -> None:
    env = {"STEPSTREAM_STEP_BUDGET": "0.25", "STEPSTREAM_HEARTBEAT": "1"}
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            job = await sleep_job(client, steps=9, wait=0.1)
            batched, requests = await run_batches(client, job["steps_url"])
            _, streamed = await collect(client, job["events_url"])
    assert requests >= 3
    assert [e["event"] for e in batched] == ["step"] * 9 + ["done"]
    assert [essentials(e) for e in batched] == [
        essentials({"event": e.event, "data": e.json}) for e in streamed[1:]
    ]
    assert [e["data"]["index"] for e in batched[:-1]] == list(range(9))


async def test_a_batch_ends_at_its_budget_but_always_makes_progress(output_dir) -> None:
    env = {"STEPSTREAM_STEP_BUDGET": "0.3"}
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            job = await sleep_job(client, steps=3, wait=0.8)
            started = time.monotonic()
            first = (await client.post(job["steps_url"], json={})).json()
            took = time.monotonic() - started
    # The first step overruns the 0.3 s budget and is kept; the second is cut and runs again.
    assert [e["data"]["index"] for e in first["events"]] == [0]
    assert first["done"] is False
    assert first["cursor"] == first["events"][-1]["id"]
    assert 0.8 <= took < 1.6
