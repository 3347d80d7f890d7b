"""A step's context outside a run, for calling a kind's step directly in a test."""

from __future__ import annotations

from typing import Any

from app.jobs import Params, StepContext


def context(params: Params, index: int, state: Any = None, job_id: str = "job") -> StepContext[Any]:
    reports: list[tuple[str, Any]] = []
    return StepContext(
        params, index, index + 1, state, job_id, lambda *report: reports.append(report)
    )
