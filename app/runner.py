"""Runs a job's steps in this process and hands each event to whoever listens.

A ``JobRun`` is one task that runs steps from a position and pushes their
events to its listeners: the SSE streams and JSON batches following it. A
stream or batch that arrives at the very position a run of its job has
reached joins that run instead of starting a second one (a reconnect before
the old connection is noticed dead, two tabs), so a step is never run twice
side by side in one process. A run stops as soon as its last listener leaves.

Each listener has a bounded queue. The run waits for a full one (so a lone
fast stream is paced by its socket), but not for ever: one still full after
``SLOW_LISTENER_SECONDS`` is closed, and its client resumes from its cursor.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.events import Event, Listener, Signal, encode_json
from app.jobs.base import JobFailed, JobKind, Params, Step, StepContext
from app.metrics import Metrics
from app.tokens import Cursor, JobSpec, JobState, TokenCodec

logger = logging.getLogger("stepstream")

SLOW_LISTENER_SECONDS = 10.0
TURN_SECONDS = 0.001
"""Steps that never wait still give the loop a turn this often: no request stalls the
others, and the events of one turn go out in one write."""
PROGRESS_INTERVAL = 0.1
"""At most ten progress events a second per run; the newest report wins."""


@dataclass(frozen=True, slots=True)
class Job:
    spec: JobSpec
    token: str
    kind: JobKind[Any]
    params: Params
    total: int


class JobRun:
    """One job's steps from one position on, run once for all its listeners."""

    def __init__(
        self,
        job: Job,
        cursor: Cursor,
        codec: TokenCodec,
        metrics: Metrics,
        on_end: Callable[[JobRun], None],
    ) -> None:
        self.job = job
        self.position = cursor.next
        self._failed = cursor.failed
        self._state: JobState = cursor.state
        self._codec = codec
        self._step_seconds = metrics.step_seconds_of(job.kind.name)
        self._on_end = on_end
        self.listeners: list[Listener] = []
        self._room = Signal()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._ctx: StepContext[Any] | None = None
        self._progress_at = 0.0
        self._progress_timer: asyncio.TimerHandle | None = None
        self._pending_progress: Event | None = None
        self._turn_at = time.perf_counter()
        self.task = self._loop.create_task(self._run())

    @property
    def running(self) -> bool:
        return not self.task.done()

    def join(self) -> Listener:
        listener = Listener(self._room)
        self.listeners.append(listener)
        return listener

    def leave(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)
        if not self.listeners:
            self.task.cancel()

    def stop(self) -> None:
        """Interrupt the step now; listeners get what was completed, then their end."""
        self.task.cancel()

    async def _run(self) -> None:
        try:
            await self._steps()
        except asyncio.CancelledError:
            pass  # the last listener left, or the server is stopping
        finally:
            for listener in self.listeners:
                listener.close()
            self._on_end(self)

    async def _steps(self) -> None:
        job = self.job
        while self.position < job.total:
            index = self.position
            ctx = StepContext(job.params, index, job.total, self._state, job.spec.id, self._report)
            self._ctx = ctx
            started = time.perf_counter()
            try:
                step = _as_step(await job.kind.step(ctx))
            except asyncio.CancelledError:
                ctx.cancel()
                raise
            except JobFailed as exc:
                self._publish(self._error(exc.code, exc.message))
                return
            except Exception:
                logger.exception("step %d of job %s crashed", index, job.spec.id)
                self._publish(self._error("step_crashed", f"Step {index} failed unexpectedly."))
                return
            finally:
                self._ctx = None
                self._drop_progress()
            elapsed = time.perf_counter() - started
            self._step_seconds.observe(elapsed)
            self._failed += not step.ok
            self._state = step.state
            self.position = index + 1
            self._publish(self._step_event(index, step, round(elapsed * 1000, 1)))
            await self._wait_for_room()
        final = Cursor(job.spec.id, job.total, self._failed, final=True)
        done = {"total": job.total, "ok": job.total - self._failed, "failed": self._failed}
        self._publish(Event(self._codec.dump_cursor(final), "done", done))

    def _step_event(self, index: int, step: Step, elapsed_ms: float) -> Event:
        """The hot path: the event's JSON written directly, the result's encoded once."""
        total, ok, result = self.job.total, step.ok, step.result
        data = {
            "index": index,
            "total": total,
            "ok": ok,
            "result": result,
            "elapsed_ms": elapsed_ms,
        }
        data_json = (
            f'{{"index":{index},"total":{total},"ok":{"true" if ok else "false"},'
            f'"result":{encode_json(result)},"elapsed_ms":{elapsed_ms!r}}}'
        )
        cursor = self._codec.sign_position(self.job.spec.id, index + 1, self._failed, step.state)
        return Event(cursor, "step", data, data_json)

    def _error(self, code: str, message: str) -> Event:
        cursor = Cursor(self.job.spec.id, self.position, self._failed, self._state)
        return Event(self._codec.dump_cursor(cursor), "error", {"code": code, "message": message})

    def _publish(self, event: Event) -> None:
        for listener in self.listeners:
            listener.push(event)

    async def _wait_for_room(self) -> None:
        """A turn of the loop for everyone else, and a pause while a listener is full."""
        now = time.perf_counter()
        if now - self._turn_at >= TURN_SECONDS:
            await asyncio.sleep(0)
            self._turn_at = time.perf_counter()
        for listener in self.listeners:
            if listener.full:
                break
        else:
            return  # the usual case, and the hot path: nobody is full
        deadline = None
        while full := [listener for listener in self.listeners if listener.full]:
            now = time.monotonic()
            deadline = deadline or now + SLOW_LISTENER_SECONDS
            self._room.clear()
            try:
                async with asyncio.timeout(deadline - now):
                    await self._room.wait()
            except TimeoutError:
                for listener in full:
                    listener.close()
                    self.listeners.remove(listener)
                if not self.listeners:
                    raise asyncio.CancelledError from None

    def _report(self, what: str, payload: Any) -> None:
        """From the step, on the loop or in its worker thread."""
        ctx = self._ctx
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._on_report, ctx, what, payload)
        else:
            self._on_report(ctx, what, payload)

    def _on_report(self, ctx: StepContext[Any] | None, what: str, payload: Any) -> None:
        if ctx is None or ctx is not self._ctx:
            return  # a step that has ended, or was abandoned
        if what == "checkpoint":
            cursor = Cursor(self.job.spec.id, ctx.index, self._failed, payload)
            self._publish(Event(self._codec.dump_cursor(cursor), None, None))
            return
        message, fraction = payload
        data = {"index": ctx.index, "message": message, "fraction": fraction}
        self._pending_progress = Event(None, "progress", data)
        wait = self._progress_at + PROGRESS_INTERVAL - time.monotonic()
        if wait <= 0:
            self._flush_progress()
        elif self._progress_timer is None:
            self._progress_timer = self._loop.call_later(wait, self._flush_progress)

    def _flush_progress(self) -> None:
        self._progress_timer = None
        if self._pending_progress is not None:
            self._publish(self._pending_progress)
            self._pending_progress = None
            self._progress_at = time.monotonic()

    def _drop_progress(self) -> None:
        if self._progress_timer is not None:
            self._progress_timer.cancel()
            self._progress_timer = None
        self._pending_progress = None


def _as_step(returned: object) -> Step:
    if isinstance(returned, Step):
        return returned
    if isinstance(returned, dict):
        return Step(returned)
    raise TypeError(f"a step must return a dict or a Step, not {type(returned).__name__}")


class Runs:
    """The runs of this process, by job: a stream or batch joins one at its position."""

    def __init__(self, codec: Callable[[], TokenCodec], metrics: Metrics) -> None:
        self._codec = codec
        self._metrics = metrics
        self._by_job: dict[str, list[JobRun]] = {}

    def follow(self, job: Job, cursor: Cursor) -> tuple[JobRun, Listener]:
        """Join the run of ``job`` at ``cursor``, or start one there."""
        runs = self._by_job.setdefault(job.spec.id, [])
        for run in runs:
            if run.position == cursor.next and run.running:
                return run, run.join()
        run = JobRun(job, cursor, self._codec(), self._metrics, self._ended)
        runs.append(run)
        return run, run.join()

    @property
    def running(self) -> int:
        return sum(len(runs) for runs in self._by_job.values())

    def _ended(self, run: JobRun) -> None:
        runs = self._by_job.get(run.job.spec.id, [])
        if run in runs:
            runs.remove(run)
        if not runs:
            self._by_job.pop(run.job.spec.id, None)

    def stop_all(self) -> None:
        for runs in list(self._by_job.values()):
            for run in list(runs):
                run.stop()
