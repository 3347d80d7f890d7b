"""The Python client against a real server: steps in order, once, whatever the route."""

from __future__ import annotations

import anyio
import pytest

from app.client import AsyncClient, Client, TokenError, Unreachable
from tests.buffering_proxy import BufferingProxy
from tests.servers import free_port

pytestmark = pytest.mark.anyio


async def test_run_yields_typed_steps_and_the_summary(server) -> None:
    async with AsyncClient(server.url) as client:
        run = client.run("sleep", steps=3, wait=0.05)
        steps = [step async for step in run]
    assert [(s.index, s.total, s.ok, s.result) for s in steps] == [
        (i, 3, True, {"count": i + 1}) for i in range(3)
    ]
    assert run.summary is not None and run.summary.failed == 0
    assert run.fallback is False


async def test_resume_yields_only_the_steps_after_the_cursor(server) -> None:
    async with AsyncClient(server.url) as client:
        run = client.run("sleep", steps=4, wait=0)
        async for step in run:
            if step.index == 1:
                break
        assert run.job is not None
        rest = [s.index async for s in client.resume(run.job.token, step.cursor)]
    assert rest == [2, 3]


async def test_a_buffering_proxy_makes_it_fall_back_to_the_steps_endpoint(server) -> None:
    with BufferingProxy(server.url) as proxy:
        async with AsyncClient(proxy.url, start_timeout=1) as client:
            run = client.run("sleep", steps=6, wait=0.4)
            with anyio.fail_after(30):
                indexes = [step.index async for step in run]
    assert run.fallback is True
    assert indexes == list(range(6))
    assert run.summary is not None and run.summary.total == 6
    assert any(request.startswith("POST /api/jobs/") for request in proxy.requests)


async def test_giving_up_carries_the_job_and_cursor(server) -> None:
    async with AsyncClient(server.url) as client:
        run = client.run("sleep", steps=3, wait=0)
        first = await anext(aiter(run))
        assert run.job is not None
    job = run.job.token
    url = f"http://127.0.0.1:{free_port()}"
    async with AsyncClient(url, give_up=0.5) as client:
        with pytest.raises(Unreachable) as raised:
            async for _ in client.resume(job, first.cursor):
                pass
    assert raised.value.job == job
    assert raised.value.cursor == first.cursor


async def test_a_refused_job_token_is_a_token_error(server) -> None:
    async with AsyncClient(server.url) as client:
        with pytest.raises(TokenError) as raised:
            async for _ in client.resume("not-a-token"):
                pass
    assert raised.value.status == 400


def test_the_sync_client_runs_a_job(server) -> None:
    with Client(server.url) as client:
        assert [step.result["count"] for step in client.run("sleep", steps=3, wait=0)] == [1, 2, 3]


async def test_heartbeats_between_steps_are_not_steps(server) -> None:
    """Regression: httpx-sse dispatched a heartbeat after an id as an empty message."""
    async with AsyncClient(server.url) as client:
        run = client.run("sleep", steps=2, wait=1.3)
        with anyio.fail_after(20):
            indexes = [step.index async for step in run]
    assert indexes == [0, 1]
    assert run.summary is not None
