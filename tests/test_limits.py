"""Who may start jobs and what one request may cost (each test names what it pins)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from app.applications import create_app
from app.settings import Settings
from tests.servers import Server, wait_until
from tests.sse import collect, read_events, steps_of
from tests.test_errors import assert_error

pytestmark = pytest.mark.anyio

KEY = "k-" + "x" * 30
SLEEP_JOB = {"kind": "sleep", "params": {"steps": 2, "wait": 0}}


def client_for(**settings: object) -> httpx.AsyncClient:
    app = create_app(Settings(secret_key=["k"], **settings))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def keyed() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(api_keys=["other", KEY]) as client:
        yield client


async def test_starting_a_job_needs_a_key_when_keys_are_set(keyed: httpx.AsyncClient) -> None:
    """An open server was an open scraping proxy: a key now starts jobs, the token streams them."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
        refused = await keyed.post("/api/jobs", json=SLEEP_JOB, headers=headers)
        assert_error(refused, 401, "unauthorized")
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.headers["cache-control"] == "no-store"
        oneliner = await keyed.get("/api/sleep/events?steps=1&wait=0", headers=headers)
        assert_error(oneliner, 401, "unauthorized")
    auth = {"Authorization": f"Bearer {KEY}"}
    created = await keyed.post("/api/jobs", json=SLEEP_JOB, headers=auth)
    assert created.status_code == 201
    job = created.json()
    assert (await keyed.get(f"/api/jobs/{job['job']}")).status_code == 200
    streamed = await keyed.get(job["events_url"])
    assert streamed.status_code == 200 and "event: done" in streamed.text
    assert (await keyed.post(job["steps_url"], json={})).status_code == 200


async def test_a_server_without_keys_says_so_at_start_up(output_dir: Path) -> None:
    with Server(log_path=output_dir / "server.log"):
        pass
    assert "STEPSTREAM_API_KEYS is unset" in (output_dir / "server.log").read_text()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_post_bodies_must_be_json(content_type: str) -> None:
    """A cross-site HTML form (text/plain, urlencoded) cannot start jobs nor run batches."""
    async with client_for() as client:
        headers = {"content-type": content_type} if content_type else {}
        body = b'{"kind": "sleep", "params": {"steps": 1}}'
        refused = await client.post("/api/jobs", content=body, headers=headers)
        assert_error(refused, 415, "unsupported_media_type")
        job = (await client.post("/api/jobs", json=SLEEP_JOB)).json()
        batch = await client.post(job["steps_url"], content=b'{"cursor": null}', headers=headers)
        assert_error(batch, 415, "unsupported_media_type")
        assert (await client.post(job["steps_url"])).status_code == 200  # no body: from the start


async def test_json_nested_too_deep_is_400_not_500() -> None:
    """``[`` × 2000 then ``]`` × 2000 used to be a RecursionError and a 500."""
    async with client_for() as client:
        for depth in (65, 2000, 100_000):
            body = b"[" * depth + b"]" * depth
            response = await client.post(
                "/api/jobs", content=body, headers={"content-type": "application/json"}
            )
            assert_error(response, 400, "bad_request")


async def test_a_job_too_big_for_a_url_is_422_at_creation() -> None:
    """A 500-URL scrape made an 11 KB events URL: nginx answered 414, Heroku refused it."""
    async with client_for() as client:
        urls = [f"https://example.com/{secrets.token_hex(12)}" for _ in range(300)]
        response = await client.post("/api/jobs", json={"kind": "scrape", "params": {"urls": urls}})
        error = assert_error(response, 422, "invalid_params")
        assert "split it into several smaller jobs" in error["message"]
        assert error["detail"][0]["type"] == "too_big"


async def test_every_api_answer_says_no_store() -> None:
    """Varnish served a cached 204 to new clients of a one-liner, whose EventSource then stopped."""
    clock_now = [1_800_000_000.0]
    app = create_app(Settings(secret_key=["k"], token_max_age=60), clock=lambda: clock_now[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        _, events = await collect(client, "/api/sleep/events?steps=1&wait=0")
        final = await client.get(
            "/api/sleep/events?steps=1&wait=0", headers={"Last-Event-ID": events[-1].id or ""}
        )
        assert final.status_code == 204 and final.headers["cache-control"] == "no-store"
        assert (await client.get("/api/kinds")).headers["cache-control"] == "no-store"
        created = await client.post("/api/jobs", json=SLEEP_JOB)
        assert created.headers["cache-control"] == "no-store"
        clock_now[0] += 61
        expired = await client.get(f"/api/jobs/{created.json()['job']}")
        assert expired.status_code == 410 and expired.headers["cache-control"] == "no-store"
        missing = await client.get("/api/nope/events")
        assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
        assert "no-store" not in (await client.get("/")).headers.get("cache-control", "")


@pytest.fixture
def plugin_server(output_dir: Path) -> Iterator[Server]:
    env = {
        "STEPSTREAM_HEARTBEAT": "1",
        "STEPSTREAM_KINDS": "sleep,tests.plugin_kinds:blocking",
        "STEPSTREAM_MAX_STREAMS_PER_CLIENT": "2",
    }
    with Server(env, log_path=output_dir / "server.log") as running:
        yield running


async def test_one_client_holds_at_most_its_share_of_streams(plugin_server: Server) -> None:
    async with httpx.AsyncClient(base_url=plugin_server.url, timeout=10) as client:
        async with anyio.create_task_group() as group:
            started = [anyio.Event(), anyio.Event()]

            async def hold(n: int) -> None:
                async with client.stream("GET", f"/api/sleep/events?steps={n + 1}&wait=30") as held:
                    async for _ in read_events(held):
                        started[n].set()
                        await anyio.sleep_forever()

            with anyio.fail_after(10):
                for n in range(2):
                    group.start_soon(hold, n)
                    await started[n].wait()
                refused = await client.get("/api/sleep/events?steps=1&wait=0")
                assert_error(refused, 429, "too_many_streams")
                assert int(refused.headers["retry-after"]) > 0
            group.cancel_scope.cancel()


async def test_two_streams_of_one_job_run_each_step_once(
    plugin_server: Server, tmp_path: Path
) -> None:
    """Two tabs, or a reconnect before the old socket is seen dead: each page was fetched twice."""
    log = tmp_path / "steps.log"
    url = f"/api/blocking/events?steps=3&seconds=0.3&log={log}"
    async with httpx.AsyncClient(base_url=plugin_server.url, timeout=10) as client:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                results: list[list] = []

                async def follow() -> None:
                    results.append((await collect(client, url))[1])

                group.start_soon(follow)
                while not log.exists():
                    await anyio.sleep(0.02)
                group.start_soon(follow)
    assert [steps_of(events) for events in results] == [[0, 1, 2], [0, 1, 2]]
    assert sorted(log.read_text().split()) == sorted(
        "start 0 end 0 start 1 end 1 start 2 end 2".split()
    )


async def test_a_dropped_batch_stops_its_work(plugin_server: Server, tmp_path: Path) -> None:
    """A client that drops POST .../steps and retries used to run two batches side by side."""
    log = tmp_path / "steps.log"
    async with httpx.AsyncClient(base_url=plugin_server.url, timeout=10) as client:
        job = (
            await client.post(
                "/api/jobs",
                json={"kind": "blocking", "params": {"steps": 5, "seconds": 1, "log": str(log)}},
            )
        ).json()
        with anyio.move_on_after(0.5):
            await client.post(job["steps_url"], json={})
    wait_until(lambda: "end 0" in log.read_text(), 5, what="the first step to return")
    time.sleep(0.5)  # the next step would start at once were the batch still running
    assert log.read_text().split("\n") == ["start 0", "end 0", ""]


async def test_sigterm_interrupts_a_batch(output_dir: Path) -> None:
    """One batch in flight used to delay the exit by its whole budget."""
    server = Server(log_path=output_dir / "server.log").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            job = (
                await client.post(
                    "/api/jobs", json={"kind": "sleep", "params": {"steps": 100, "wait": 0.2}}
                )
            ).json()
            async with anyio.create_task_group() as group:
                answers: list[httpx.Response] = []

                async def batch() -> None:
                    answers.append(await client.post(job["steps_url"], json={}))

                group.start_soon(batch)
                await anyio.sleep(1)
                exit_seconds = await anyio.to_thread.run_sync(server.terminate)
        assert exit_seconds < 3
        body = answers[0].json()
        assert 1 <= len(body["events"]) < 20 and body["done"] is False
    finally:
        server.stop()


async def test_a_huge_zero_wait_batch_is_bounded_and_leaves_the_loop_free(output_dir: Path) -> None:
    """100,000 zero-wait steps in one batch returned 19.5 MB and stalled /healthz for 2.2 s."""
    with Server(log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            job = (
                await client.post(
                    "/api/jobs", json={"kind": "sleep", "params": {"steps": 100_000, "wait": 0}}
                )
            ).json()
            stalls: list[float] = []
            async with anyio.create_task_group() as group:

                async def ping() -> None:
                    while True:
                        started = time.perf_counter()
                        await client.get("/healthz")
                        stalls.append(time.perf_counter() - started)

                group.start_soon(ping)
                batch = await client.post(job["steps_url"], json={})
                group.cancel_scope.cancel()
    body = batch.json()
    assert len(body["events"]) == 500 and body["done"] is False
    assert len(batch.content) < 200_000
    (output_dir / "stalls.txt").write_text(
        f"longest /healthz during the batch: {max(stalls):.3f} s\n"
    )
    assert max(stalls) < 0.5


async def test_a_list_param_is_counted_before_its_items_are_checked() -> None:
    """45,000 URLs blocked the loop for 0.7 s before their 422: each was checked first."""
    async with client_for() as client:
        urls = ["not a url"] * 45_000
        response = await client.post("/api/jobs", json={"kind": "scrape", "params": {"urls": urls}})
    error = assert_error(response, 422, "invalid_params")
    # One error, not 45,000: no URL was looked at.
    assert len(error["detail"]) == 1 and "at most 500 URLs" in error["detail"][0]["message"]
