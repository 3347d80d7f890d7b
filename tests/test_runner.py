"""The step runner and the SSE encoding, in process: exact events and bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.jobs.base import JobFailed, JobKind, Params, Step
from app.metrics import Metrics
from app.runner import Event, Job, Runner
from app.stream import _sse
from app.tokens import Cursor, JobSpec, TokenCodec

pytestmark = pytest.mark.anyio


class FlakyParams(Params):
    fail_at: int = -1
    crash_at: int = -1
    bad_at: int = -1


class FlakyJob(JobKind[FlakyParams]):
    """Counts, carrying a running sum as its state, and fails where told."""

    name = "flaky"
    params_model = FlakyParams

    def total(self, params: FlakyParams) -> int:
        return 4

    async def step(self, params: FlakyParams, index: int, state: Any) -> Step:
        if index == params.fail_at:
            raise JobFailed("gave_up", "The source went away.")
        if index == params.crash_at:
            raise RuntimeError("boom")
        return Step({"i": index}, ok=index != params.bad_at, state=(state or 0) + index)


codec = TokenCodec(["k"], max_age=3600)


def job(**params: int) -> Job:
    kind = FlakyJob()
    parsed = kind.parse(params)
    spec = JobSpec("job1", kind.name, parsed.model_dump())
    return Job(spec, codec.dump_job(spec), kind, parsed, kind.total(parsed))


async def events(job: Job, cursor: Cursor | None = None) -> list:
    runner = Runner(codec, Metrics())
    return [e async for e in runner.events(job, cursor or Cursor("job1"))]


async def test_state_travels_in_each_cursor_and_failures_are_counted() -> None:
    out = await events(job(bad_at=1))
    assert [e.event for e in out] == ["step"] * 4 + ["done"]
    assert [codec.load_cursor(e.id, "job1").state for e in out[:4]] == [0, 1, 3, 6]
    assert [e.data["ok"] for e in out[:4]] == [True, False, True, True]
    assert out[-1].data == {"total": 4, "ok": 3, "failed": 1}
    final = codec.load_cursor(out[-1].id, "job1")
    assert final.final and final.next == 4 and final.failed == 1


async def test_resumed_run_keeps_state_and_failure_count() -> None:
    whole = await events(job(bad_at=0))
    resumed = await events(job(bad_at=0), codec.load_cursor(whole[1].id, "job1"))

    def timeless(data: dict) -> dict:
        return {k: v for k, v in data.items() if k != "elapsed_ms"}

    assert [timeless(e.data) for e in resumed] == [timeless(e.data) for e in whole[2:]]
    assert [e.data.get("index") for e in resumed] == [2, 3, None]
    assert resumed[-1].data == {"total": 4, "ok": 3, "failed": 1}


async def test_a_job_that_cannot_go_on_ends_with_error_at_its_cursor() -> None:
    out = await events(job(fail_at=2))
    assert [e.event for e in out] == ["step", "step", "error"]
    assert out[-1].data == {"code": "gave_up", "message": "The source went away."}
    assert codec.load_cursor(out[-1].id, "job1").next == 2


async def test_a_crashing_step_is_an_error_without_a_traceback() -> None:
    out = await events(job(crash_at=0))
    assert [e.event for e in out] == ["error"]
    assert out[0].data["code"] == "step_crashed"
    assert "boom" not in out[0].data["message"]


async def test_batch_stops_at_error() -> None:
    batch = await Runner(codec, Metrics()).batch(job(fail_at=1), Cursor("job1"), budget=5)
    assert [e.event for e in batch.events] == ["step", "error"]
    assert batch.done is False


async def test_cancelling_the_consumer_cancels_the_step() -> None:
    class Slow(FlakyJob):
        cancelled = asyncio.Event()

        async def step(self, params: FlakyParams, index: int, state: Any) -> Step:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            raise AssertionError("not reached")

    kind = Slow()
    parsed = kind.parse({})
    spec = JobSpec("job1", kind.name, {})
    slow = Job(spec, "t", kind, parsed, 4)
    consumer = asyncio.ensure_future(anext(Runner(codec, Metrics()).events(slow, Cursor("job1"))))
    await asyncio.sleep(0.05)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert kind.cancelled.is_set()


def test_an_event_encodes_to_exact_bytes() -> None:
    event = Event("abc", "step", {"index": 0, "ok": True, "result": {"t": "ü\nx"}})
    assert _sse(event).encode() == (
        b'id: abc\nevent: step\ndata: {"index":0,"ok":true,"result":{"t":"\xc3\xbc\\nx"}}\n\n'
    )
