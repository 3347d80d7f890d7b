"""The step runner, in process: exact events, state, joining, progress, checkpoints."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sse_starlette import ServerSentEvent

from app.events import Event, Listener, encode_json
from app.fallback import run_batch
from app.jobs import JobFailed, JobKind, Params, Step, StepContext, job_kind
from app.metrics import Metrics
from app.runner import Job, Runs
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

    async def step(self, ctx: StepContext[FlakyParams]) -> Step:
        if ctx.index == ctx.params.fail_at:
            raise JobFailed("gave_up", "The source went away.")
        if ctx.index == ctx.params.crash_at:
            raise RuntimeError("boom")
        return Step(
            {"i": ctx.index}, ok=ctx.index != ctx.params.bad_at, state=(ctx.state or 0) + ctx.index
        )


codec = TokenCodec(["k"], max_age=3600)


def job_of(kind: JobKind[Any], **params: Any) -> Job:
    parsed = kind.parse(params)
    spec = JobSpec("job1", kind.name, parsed.model_dump())
    return Job(spec, codec.dump_job(spec), kind, parsed, kind.total(parsed))


def job(**params: int) -> Job:
    return job_of(FlakyJob(), **params)


def runs() -> Runs:
    return Runs(lambda: codec, Metrics())


async def drain(listener: Listener) -> list[Event]:
    out: list[Event] = []
    while not (listener.closed and not listener.events):
        await listener.wakeup.wait()
        out += listener.take()
    return out


async def events(job: Job, cursor: Cursor | None = None) -> list[Event]:
    _, listener = runs().follow(job, cursor or Cursor("job1"))
    async with asyncio.timeout(10):
        return await drain(listener)


async def test_state_travels_in_each_cursor_and_failures_are_counted() -> None:
    out = await events(job(bad_at=1))
    assert [e.event for e in out] == ["step"] * 4 + ["done"]
    assert [codec.load_cursor(e.id or "", "job1").state for e in out[:4]] == [0, 1, 3, 6]
    assert [e.data and e.data["ok"] for e in out[:4]] == [True, False, True, True]
    assert out[-1].data == {"total": 4, "ok": 3, "failed": 1}
    final = codec.load_cursor(out[-1].id or "", "job1")
    assert final.final and final.next == 4 and final.failed == 1


async def test_resumed_run_keeps_state_and_failure_count() -> None:
    whole = await events(job(bad_at=0))
    resumed = await events(job(bad_at=0), codec.load_cursor(whole[1].id or "", "job1"))

    def timeless(data: dict | None) -> dict:
        return {k: v for k, v in (data or {}).items() if k != "elapsed_ms"}

    assert [timeless(e.data) for e in resumed] == [timeless(e.data) for e in whole[2:]]
    assert [(e.data or {}).get("index") for e in resumed] == [2, 3, None]
    assert resumed[-1].data == {"total": 4, "ok": 3, "failed": 1}


async def test_a_job_that_cannot_go_on_ends_with_error_at_its_cursor() -> None:
    out = await events(job(fail_at=2))
    assert [e.event for e in out] == ["step", "step", "error"]
    assert out[-1].data == {"code": "gave_up", "message": "The source went away."}
    assert codec.load_cursor(out[-1].id or "", "job1").next == 2


async def test_a_crashing_step_is_an_error_without_a_traceback() -> None:
    out = await events(job(crash_at=0))
    assert [e.event for e in out] == ["error"]
    assert out[0].data and out[0].data["code"] == "step_crashed"
    assert "boom" not in out[0].data["message"]


async def test_batch_stops_at_error() -> None:
    batch = await run_batch(runs(), codec, job(fail_at=1), Cursor("job1"), 5, 500)
    assert [e.event for e in batch.events] == ["step", "error"]
    assert batch.done is False


async def test_batch_holds_at_most_max_events() -> None:
    batch = await run_batch(runs(), codec, job(), Cursor("job1"), 5, 3)
    assert [(e.data or {}).get("index") for e in batch.events] == [0, 1, 2]
    assert codec.load_cursor(batch.cursor, "job1").next == 3 and not batch.done


async def test_the_last_listener_leaving_cancels_the_step() -> None:
    cancelled = asyncio.Event()

    class Slow(FlakyJob):
        async def step(self, ctx: StepContext[FlakyParams]) -> Step:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("not reached")

    run, listener = runs().follow(job_of(Slow()), Cursor("job1"))
    await asyncio.sleep(0.05)
    run.leave(listener)
    async with asyncio.timeout(1):
        await cancelled.wait()
    assert not run.running


async def test_a_second_listener_at_the_same_position_joins_the_run() -> None:
    """Two tabs (or a reconnect before the old socket is seen dead) run each step once."""
    calls: list[int] = []

    class Counted(FlakyJob):
        async def step(self, ctx: StepContext[FlakyParams]) -> Step:
            calls.append(ctx.index)
            await asyncio.sleep(0.02)
            return Step({"i": ctx.index})

    shared = runs()
    first_run, first = shared.follow(job_of(Counted()), Cursor("job1"))
    second_run, second = shared.follow(job_of(Counted()), Cursor("job1"))
    assert first_run is second_run
    async with asyncio.timeout(5):
        a, b = await asyncio.gather(drain(first), drain(second))
    assert calls == [0, 1, 2, 3]
    assert [e.id for e in a] == [e.id for e in b]
    behind_run, _ = shared.follow(job_of(Counted()), Cursor("job1", 1))
    assert behind_run is not first_run


async def test_a_stalled_listener_is_closed_and_the_others_go_on(monkeypatch) -> None:
    monkeypatch.setattr("app.runner.SLOW_LISTENER_SECONDS", 0.2)
    monkeypatch.setattr("app.events.LISTENER_QUEUE", 2)

    class Many(FlakyJob):
        def total(self, params: FlakyParams) -> int:
            return 20

    shared = runs()
    _, stalled = shared.follow(job_of(Many()), Cursor("job1"))
    _, reader = shared.follow(job_of(Many()), Cursor("job1"))
    async with asyncio.timeout(5):
        out = await drain(reader)
    assert [e.event for e in out][-1] == "done" and len(out) == 21
    assert stalled.closed and len(stalled.events) == 2


class Wait(Params):
    seconds: float = 0.0


async def test_a_def_step_runs_in_a_worker_thread() -> None:
    @job_kind(params=Wait, total=2)
    def blocking(ctx: StepContext[Wait]) -> dict[str, Any]:
        time.sleep(ctx.params.seconds)
        return {"thread": threading.get_ident()}

    out = await events(job_of(blocking, seconds=0.01))
    assert [e.event for e in out] == ["step", "step", "done"]
    assert {(e.data or {})["result"]["thread"] for e in out[:2]} != {threading.get_ident()}


async def test_an_abandoned_def_step_is_told_and_its_result_thrown_away() -> None:
    """A step that ignores ``cancelled``: its result is never sent, no later step starts."""
    started: list[int] = []
    seen_cancelled = threading.Event()

    @job_kind(params=Wait, total=3)
    def stubborn(ctx: StepContext[Wait]) -> dict[str, Any]:
        started.append(ctx.index)
        deadline = time.monotonic() + ctx.params.seconds
        while time.monotonic() < deadline:
            if ctx.cancelled:
                seen_cancelled.set()
            time.sleep(0.01)
        return {"late": True}

    run, listener = runs().follow(job_of(stubborn, seconds=0.5), Cursor("job1"))
    await asyncio.sleep(0.1)
    run.leave(listener)
    assert await asyncio.to_thread(seen_cancelled.wait, 2)
    await asyncio.sleep(0.6)
    assert started == [0] and not listener.events


async def test_progress_has_no_id_is_coalesced_and_a_checkpoint_is_an_id_alone() -> None:
    @job_kind(params=Wait, total=1)
    async def reporting(ctx: StepContext[Wait]) -> dict[str, Any]:
        ctx.checkpoint({"booked": 1})
        for n in range(50):
            ctx.progress(f"at {n}", n / 50)
        await asyncio.sleep(0.25)
        ctx.progress("last")
        await asyncio.sleep(0.15)
        return {}

    out = await events(job_of(reporting))
    kinds = [e.event for e in out]
    assert kinds[0] is None and out[0].data is None
    checkpoint = codec.load_cursor(out[0].id or "", "job1")
    assert (checkpoint.next, checkpoint.state) == (0, {"booked": 1})
    progress = [e for e in out if e.event == "progress"]
    assert all(e.id is None for e in progress)
    assert 2 <= len(progress) <= 4, "about ten a second, the newest winning"
    assert progress[-1].data == {"index": 0, "message": "last", "fraction": None}
    assert kinds[-2:] == ["step", "done"]


async def test_a_batch_cut_mid_step_returns_the_checkpoint() -> None:
    @job_kind(params=Wait, total=2)
    async def booking(ctx: StepContext[Wait]) -> dict[str, Any]:
        ctx.checkpoint({"booked": ctx.index})
        await asyncio.sleep(ctx.index * 5)
        return {}

    batch = await run_batch(runs(), codec, job_of(booking), Cursor("job1"), 0.2, 500)
    assert [e.event for e in batch.events] == ["step"]
    cursor = codec.load_cursor(batch.cursor, "job1")
    assert (cursor.next, cursor.state) == (1, {"booked": 1})


def test_a_step_event_encodes_to_exact_bytes_as_sse_starlette_would() -> None:
    data = {"index": 0, "ok": True, "result": {"t": "ü\nx"}}
    event = Event("abc", "step", data)
    assert event.encode() == (
        b'id: abc\nevent: step\ndata: {"index":0,"ok":true,"result":{"t":"\xc3\xbc\\nx"}}\n\n'
    )
    sse = ServerSentEvent(encode_json(data), id="abc", event="step", sep="\n")
    assert event.encode() == sse.encode()
    assert Event("abc", None, None).encode() == b"id: abc\n\n"
