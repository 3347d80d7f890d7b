"""The Python client against a real server: steps in order, once, whatever the route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from app.client import (
    AsyncClient,
    Client,
    ClientError,
    JobRun,
    KindInfo,
    Progress,
    StepResult,
    TokenError,
    Unauthorized,
    Unreachable,
)
from tests import client_kinds
from tests.buffering_proxy import BufferingProxy
from tests.servers import Server, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def kinds_server(output_dir: Path) -> Iterator[Server]:
    with client_kinds.kinds_server(output_dir) as running:
        yield running


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


async def test_kinds_come_from_the_server(kinds_server: Server) -> None:
    async with AsyncClient(kinds_server.url) as client:
        kinds = {kind.name: kind for kind in await client.kinds()}
    assert list(kinds) == ["sleep", "greet", "checkpointed"]
    greet = kinds["greet"]
    assert isinstance(greet, KindInfo)
    assert greet.aliases == {"name": "names"}
    assert greet.description.startswith("Greets each name")
    assert greet.params["properties"]["times"]["maximum"] == 5


async def test_kinds_of_no_server_is_unreachable() -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(Unreachable, match="cannot reach"):
            await client.kinds()


async def test_progress_is_opt_in_and_a_checkpoint_is_the_cursor(kinds_server: Server) -> None:
    """Plain iteration sees steps only; ``with_progress`` adds ``Progress`` reports; the
    checkpoint a step hands out before acting becomes the cursor, and resumes that step."""
    async with AsyncClient(kinds_server.url) as client:
        plain = [step async for step in client.run("checkpointed", steps=2, seconds=0.3)]
        assert all(isinstance(step, StepResult) for step in plain)
        assert [step.index for step in plain] == [0, 1]

        run = client.run("checkpointed", steps=3, seconds=1.0)
        updates = run.with_progress()
        seen: list[StepResult | Progress] = []
        with anyio.fail_after(20):
            async for update in updates:
                seen.append(update)
                if isinstance(update, Progress) and update.index == 1:
                    break
            await updates.aclose()
        assert seen == [Progress(0, "booked", 0.5), seen[1], Progress(1, "booked", 0.5)]
        assert isinstance(seen[1], StepResult) and seen[1].index == 0
        assert run.job is not None
        assert run.cursor is not None and run.cursor != seen[1].cursor
        with anyio.fail_after(20):
            rest = [step async for step in client.resume(run.job.token, run.cursor)]
    assert [step.index for step in rest] == [1, 2]
    assert rest[0].result == {"state_seen": {"booked": 1}}  # the step again, with its booking
    assert rest[1].result == {"state_seen": None}


async def test_an_api_key_is_sent_and_a_missing_one_is_unauthorized(output_dir: Path) -> None:
    env = {"STEPSTREAM_API_KEYS": "first-key,second-key"}
    with Server(env, log_path=output_dir / "server.log") as server:
        async with AsyncClient(server.url) as client:
            with pytest.raises(Unauthorized) as raised:
                async for _ in client.run("sleep", steps=1, wait=0):
                    pass
        assert raised.value.status == 401 and raised.value.code == "unauthorized"
        async with AsyncClient(server.url, api_key="second-key") as client:
            steps = [step.index async for step in client.run("sleep", steps=2, wait=0)]
    assert steps == [0, 1]


async def sleep_through(proxy: BufferingProxy, steps: int, read_timeout: float = 60) -> JobRun:
    """A sleep job of ``steps`` steps of 0.4 s followed to its end through ``proxy``."""
    async with AsyncClient(proxy.url, start_timeout=1, read_timeout=read_timeout) as client:
        run = client.run("sleep", steps=steps, wait=0.4)
        with anyio.fail_after(60):
            indexes = [step.index async for step in run]
    assert run.fallback is True
    assert indexes == list(range(steps))
    assert run.summary is not None and run.summary.total == steps
    return run


async def test_a_buffering_proxy_makes_it_fall_back_to_the_steps_endpoint(
    server, caplog: pytest.LogCaptureFixture
) -> None:
    with BufferingProxy(server.url) as proxy:
        run = await sleep_through(proxy, 6)
    assert run.budget == 10  # nothing failed: the first budget stands
    assert caplog.records == []  # switching is no failure: no wait, no warning
    assert any(request.startswith("POST /api/jobs/") for request in proxy.requests)


async def test_a_proxy_with_a_short_timeout_halves_the_budget_until_batches_pass(server) -> None:
    """Behind a buffering proxy that gives up after 2 s, batches of 10 s, 5 s and 2.5 s
    fail with its 502; 1.25 s batches pass, and every step arrives once."""
    with BufferingProxy(server.url, timeout=2) as proxy:
        run = await sleep_through(proxy, 8)
    assert run.budget == 1.25
    batches = [request for request in proxy.requests if request.endswith("/steps")]
    assert len(batches) >= 5  # three failed, then at least two to cover 3.2 s of steps


async def test_a_read_timeout_on_a_batch_halves_the_budget_too(server) -> None:
    """A client that waits 2 s at most for an answer: 10, 5 and 2.5 s batches time out."""
    with BufferingProxy(server.url) as proxy:
        run = await sleep_through(proxy, 6, read_timeout=2)
    assert run.budget == 1.25


async def test_a_server_no_retry_can_reach_fails_at_once() -> None:
    """Regression: any transport error was retried until the give-up time, an
    unsupported scheme included."""
    async with AsyncClient("ftp://127.0.0.1:9", give_up=60) as client:
        with anyio.fail_after(5), pytest.raises(ClientError, match="UnsupportedProtocol"):
            async for _ in client.run("sleep", steps=1):
                pass


async def test_a_batch_cut_mid_step_hands_back_its_checkpoint_as_the_cursor(
    kinds_server: Server,
) -> None:
    """2 s steps, 2.5 s batches: the first batch ends while step 1 runs, after its
    checkpoint; that checkpoint, not step 0's cursor, is where the job goes on.
    (Whether that batch joins the run the buffered stream started or runs its own,
    its budget ends half a second or more into step 1.)"""
    with BufferingProxy(kinds_server.url) as proxy:
        async with AsyncClient(proxy.url, start_timeout=1, budget=2.5) as client:
            run = client.run("checkpointed", steps=3, seconds=2.0)
            with anyio.fail_after(20):
                first = await anext(aiter(run))
            assert run.fallback is True and first.index == 0
            assert run.cursor is not None and run.cursor != first.cursor
            assert run.job is not None
            with anyio.fail_after(20):
                rest = [step.index async for step in client.resume(run.job.token, run.cursor)]
    assert rest == [1, 2]


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


def test_the_sync_client_runs_a_job_with_progress(kinds_server: Server) -> None:
    with Client(kinds_server.url) as client:
        assert [kind.name for kind in client.kinds()][0] == "sleep"
        assert [step.result["count"] for step in client.run("sleep", steps=3, wait=0)] == [1, 2, 3]
        run = client.run("checkpointed", steps=2, seconds=0.3)
        updates = list(run.with_progress())
    assert [type(u).__name__ for u in updates] == ["Progress", "StepResult"] * 2
    assert run.summary is not None and run.summary.total == 2
    assert run.job is not None and run.cursor is not None and run.fallback is False


async def test_heartbeats_between_steps_are_not_steps(server) -> None:
    """Regression: httpx-sse dispatched a heartbeat after an id as an empty message."""
    async with AsyncClient(server.url) as client:
        run = client.run("sleep", steps=2, wait=1.3)
        with anyio.fail_after(20):
            indexes = [step.index async for step in run]
    assert indexes == [0, 1]
    assert run.summary is not None
