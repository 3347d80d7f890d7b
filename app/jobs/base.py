"""The plug-in point: what a job kind declares and what one step returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from app.tokens import JobState


class Params(BaseModel):
    """Base for a kind's params: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


@dataclass(frozen=True, slots=True)
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


class JobKind(ABC, Generic[P]):
    """A kind of job: validated params, a number of steps, and one async step.

    ``query_aliases`` maps one-liner query names to param names (``url`` →
    ``urls``); a list param takes every repeat of its query name.
    """

    name: ClassVar[str]
    params_model: type[P]
    query_aliases: ClassVar[dict[str, str]] = {}

    def parse(self, raw: dict[str, Any]) -> P:
        """Validate raw params; raises pydantic's ValidationError."""
        return self.params_model.model_validate(raw)

    @abstractmethod
    def total(self, params: P) -> int: ...

    @abstractmethod
    async def step(self, params: P, index: int, state: JobState) -> Step: ...

    async def aclose(self) -> None:
        """Release what the kind holds (an HTTP client); called at shutdown."""
