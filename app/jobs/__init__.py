"""Job kinds: one module each. Add a kind to ``create_kinds`` to serve it."""

from __future__ import annotations

from typing import Any

from app.jobs.base import JobFailed, JobKind, Params, Step
from app.jobs.scrape import ScrapeJob
from app.jobs.sleep import SleepJob
from app.settings import Settings

__all__ = ["JobFailed", "JobKind", "Params", "Step", "create_kinds"]


def create_kinds(settings: Settings) -> dict[str, JobKind[Any]]:
    kinds: list[JobKind[Any]] = [SleepJob(), ScrapeJob(settings)]
    return {kind.name: kind for kind in kinds}
