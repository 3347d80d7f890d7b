"""The plug-in point: what a job kind declares, what a step is given and returns."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from app.tokens import JobState

KIND_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class Params(BaseModel):
    """Base for a kind's params: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


P = TypeVar("P", bound=Params)


@dataclass(slots=True)
class Step:
    """One completed step: its result for the client, and the state for the next step.

    ``ok=False`` is a step that failed in an expected way (one URL timed out);
    the job goes on. A job that cannot go on raises ``JobFailed`` instead.
    """

    result: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    state: JobState = None


class JobFailed(Exception):
    """The job cannot go on; the stream ends with an ``error`` event."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StepContext(Generic[P]):
    """What one step is given: its params, position and state, and ways to report.

    ``progress`` and ``checkpoint`` may be called from the worker thread that
    runs a ``def`` step; ``cancelled`` turns true once nobody waits for the
    step any more (the client left, the server is stopping), so a long
    blocking step can stop early. Its result is thrown away either way.
    """

    __slots__ = ("params", "index", "total", "state", "job_id", "_cancelled", "_report")

    def __init__(
        self,
        params: P,
        index: int,
        total: int,
        state: JobState,
        job_id: str,
        report: Callable[[str, Any], None],
    ) -> None:
        self.params = params
        self.index = index
        self.total = total
        self.state = state
        self.job_id = job_id
        self._cancelled = False  # set on the loop, read from the step's thread: a plain flag
        self._report = report

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def progress(self, message: str | None = None, fraction: float | None = None) -> None:
        """Tell the client how the step is going; the newest report wins."""
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
        if message is not None:
            message = str(message)[:500]
        self._report("progress", (message, fraction))

    def checkpoint(self, state: JobState) -> None:
        """Hand out a cursor for this same step with ``state``, before acting on the world.

        A resume from it runs the step again, with ``state`` as its state.
        """
        self._report("checkpoint", state)


class JobKind(ABC, Generic[P]):
    """A kind of job: validated params, a number of steps, and one step.

    ``query_aliases`` maps one-liner query names to param names (``url`` →
    ``urls``); a list param takes every repeat of its query name. ``step``
    is ``async def`` here; ``job_kind`` wraps a plain ``def`` to run in a
    worker thread.
    """

    name: str
    title: str = ""
    description: str = ""
    params_model: type[P]
    query_aliases: Mapping[str, str] = {}

    def parse(self, raw: dict[str, Any]) -> P:
        """Validate raw params; raises pydantic's ValidationError."""
        return self.params_model.model_validate(raw)

    @abstractmethod
    def total(self, params: P) -> int: ...

    @abstractmethod
    async def step(self, ctx: StepContext[P]) -> Step | dict[str, Any]: ...

    async def aclose(self) -> None:
        """Release what the kind holds (an HTTP client); called at shutdown."""

    def describe(self) -> dict[str, Any]:
        """The kind as ``GET /api/kinds`` shows it."""
        return {
            "name": self.name,
            "title": self.title or self.name.replace("_", " ").replace("-", " ").capitalize(),
            "description": self.description,
            "params": self.params_model.model_json_schema(),
            "aliases": dict(self.query_aliases),
        }
