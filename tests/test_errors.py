"""Bad input gets a clear JSON error with the right status, before any stream starts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from app.applications import create_app
from app.settings import Settings
from tests.servers import Server
from tests.sse import read_events

pytestmark = pytest.mark.anyio


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """In-process: enough for answers that are refused before any stream starts."""
    settings = Settings(secret_key=["k1"], token_max_age=600, max_body=2048)
    transport = httpx.ASGITransport(app=create_app(settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def new_job(client: httpx.AsyncClient, steps: int = 3) -> dict:
    response = await client.post(
        "/api/jobs", json={"kind": "sleep", "params": {"steps": steps, "wait": 0}}
    )
    assert response.status_code == 201
    body: dict = response.json()
    return body


async def start_cursor(client: httpx.AsyncClient, job: dict) -> str:
    batch = await client.post(job["steps_url"], json={})
    cursor: str = batch.json()["cursor"]
    return cursor


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict = body["error"]
    return error


def tamper(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


async def test_tampered_job_token_is_400_everywhere(client: httpx.AsyncClient) -> None:
    job = await new_job(client)
    bad = tamper(job["job"])
    assert_error(await client.get(f"/api/jobs/{bad}"), 400, "invalid_token")
    assert_error(await client.get(f"/api/jobs/{bad}/events"), 400, "invalid_token")
    assert_error(await client.post(f"/api/jobs/{bad}/steps", json={}), 400, "invalid_token")
    assert_error(await client.get("/api/jobs/not-a-token/events"), 400, "invalid_token")


async def test_bad_cursors_are_400(client: httpx.AsyncClient) -> None:
    job_a, job_b = await new_job(client), await new_job(client)
    foreign = await start_cursor(client, job_a)
    for cursor in (foreign, tamper(foreign), "garbage", "x" * 20000, job_b["job"]):
        events = await client.get(job_b["events_url"], headers={"Last-Event-ID": cursor})
        assert_error(events, 400, "invalid_token")
        steps = await client.post(job_b["steps_url"], json={"cursor": cursor})
        assert steps.status_code == (413 if len(cursor) > 2048 else 400)
    error = assert_error(
        await client.get(job_b["events_url"], params={"last_event_id": foreign}),
        400,
        "invalid_token",
    )
    assert "another job" in error["message"]


async def test_expired_tokens_are_410(client: httpx.AsyncClient, clock: Clock) -> None:
    job = await new_job(client)
    cursor = await start_cursor(client, job)
    clock.now += 601
    assert_error(await client.get(f"/api/jobs/{job['job']}"), 410, "token_expired")
    fresh = await new_job(client)
    old_cursor_on_fresh = await client.get(fresh["events_url"], headers={"Last-Event-ID": cursor})
    assert old_cursor_on_fresh.status_code in (400, 410)
    assert_error(await client.post(job["steps_url"], json={"cursor": cursor}), 410, "token_expired")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"steps": 0}, "params.steps"),
        ({"steps": 100_001}, "params.steps"),
        ({"steps": "many"}, "params.steps"),
        ({"wait": -1}, "params.wait"),
        ({"wait": "nan"}, "params.wait"),
        ({"colour": "red"}, "params.colour"),
    ],
)
async def test_invalid_params_are_422_per_field(
    client: httpx.AsyncClient, params: dict, field: str
) -> None:
    response = await client.post("/api/jobs", json={"kind": "sleep", "params": params})
    error = assert_error(response, 422, "invalid_params")
    assert [d["field"] for d in error["detail"]] == [field]
    assert all(d["message"] and d["type"] for d in error["detail"])


async def test_oneliner_params_are_checked_too(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.get("/api/sleep/events?steps=0"), 422, "invalid_params")
    assert error["detail"][0]["field"] == "params.steps"
    assert_error(await client.get("/api/sleep/events?steps=1&steps=2"), 422, "invalid_params")
    assert_error(await client.get("/api/nope/events"), 404, "unknown_kind")


async def test_bodies_that_are_not_a_job_request(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.post("/api/jobs", json={"kind": "nope"}), 404, "unknown_kind")
    assert "sleep" in error["message"]
    not_json = await client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(not_json, 400, "bad_request")
    assert_error(await client.post("/api/jobs", json=[1, 2]), 422, "invalid_params")
    assert_error(await client.post("/api/jobs"), 422, "invalid_params")


async def test_bodies_over_the_limit_are_413(client: httpx.AsyncClient) -> None:
    big = {"kind": "sleep", "params": {"pad": "x" * 4000}}
    assert_error(await client.post("/api/jobs", json=big), 413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    chunked = await client.post("/api/jobs", content=chunks())
    assert_error(chunked, 413, "body_too_large")


async def test_unknown_paths_and_methods_keep_the_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/nothing/here/at/all"), 404, "not_found")
    assert_error(await client.delete("/api/jobs"), 405, "method_not_allowed")


async def test_streams_past_the_cap_are_503_until_a_slot_frees(output_dir) -> None:
    env = {"STEPSTREAM_MAX_STREAMS": "1", "STEPSTREAM_HEARTBEAT": "1"}
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            async with client.stream("GET", "/api/sleep/events?steps=1&wait=30") as held:
                async for _ in read_events(held):
                    break
                refused = await client.get("/api/sleep/events?steps=1&wait=0")
                assert_error(refused, 503, "too_many_streams")
                assert int(refused.headers["retry-after"]) > 0
            with anyio.fail_after(5):
                while True:
                    response = await client.get("/api/sleep/events?steps=1&wait=0")
                    if response.status_code == 200:
                        break
                    await anyio.sleep(0.05)
            assert "event: done" in response.text


async def test_cross_origin_pages_are_allowed_only_when_configured() -> None:
    origin = {"Origin": "https://pages.example"}
    for origins, allowed in (([], None), (["https://pages.example"], "https://pages.example")):
        app = create_app(Settings(secret_key=["k1"], cors_origins=origins))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.get("/api/sleep/events?steps=0", headers=origin)
            assert response.headers.get("access-control-allow-origin") == allowed
