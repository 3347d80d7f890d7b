"""What the client hands out: typed steps and progress, the job it follows, the end
summary, and the kinds a server runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StepResult:
    """One completed step; ``cursor`` resumes the job right after it."""

    index: int
    total: int
    ok: bool
    result: dict[str, Any]
    cursor: str
    elapsed_ms: float | None = None

    @classmethod
    def from_event(cls, data: dict[str, Any], cursor: str) -> StepResult:
        return cls(
            index=int(data["index"]),
            total=int(data["total"]),
            ok=bool(data["ok"]),
            result=dict(data.get("result") or {}),
            cursor=cursor,
            elapsed_ms=data.get("elapsed_ms"),
        )

    def as_record(self) -> dict[str, Any]:
        """The step as the page's JSON download has it."""
        return {
            "index": self.index,
            "ok": self.ok,
            "result": self.result,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """A report from inside the step at ``index``: not a step, and no resume point."""

    index: int
    message: str | None
    fraction: float | None

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Progress:
        fraction = data.get("fraction")
        message = data.get("message")
        return cls(
            index=int(data["index"]),
            message=None if message is None else str(message),
            fraction=None if fraction is None else float(fraction),
        )


@dataclass(frozen=True, slots=True)
class KindInfo:
    """A kind as ``GET /api/kinds`` describes it; ``params`` is its JSON Schema."""

    name: str
    title: str
    description: str
    params: dict[str, Any]
    aliases: dict[str, str]

    @classmethod
    def from_answer(cls, data: dict[str, Any]) -> KindInfo:
        return cls(
            name=str(data["name"]),
            title=str(data.get("title") or data["name"]),
            description=str(data.get("description") or ""),
            params=dict(data.get("params") or {}),
            aliases={str(k): str(v) for k, v in (data.get("aliases") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job as the server describes it; ``token`` is the signed job spec."""

    token: str
    kind: str
    total: int
    events_url: str
    steps_url: str

    @classmethod
    def from_answer(cls, data: dict[str, Any]) -> JobInfo:
        return cls(
            token=str(data["job"]),
            kind=str(data["kind"]),
            total=int(data["total"]),
            events_url=str(data["events_url"]),
            steps_url=str(data["steps_url"]),
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """The ``done`` event: how many steps there were, and how many failed."""

    total: int
    ok: int
    failed: int
