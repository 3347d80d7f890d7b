"""Kinds written outside the package, as a user would, served by tests via STEPSTREAM_KINDS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pydantic import Field

from app.jobs import Params, StepContext, job_kind


class Work(Params):
    steps: int = Field(3, ge=1, le=100, description="How many steps.")
    seconds: float = Field(0.5, ge=0, le=30, description="Seconds each step blocks.")
    log: str = Field("", max_length=500, description="A file each step notes its start and end in.")


def _note(ctx: StepContext[Work], what: str) -> None:
    if ctx.params.log:
        with Path(ctx.params.log).open("a") as log:
            log.write(f"{what} {ctx.index}\n")


@job_kind(params=Work, total=lambda p: p.steps, title="Blocking work")
def blocking(ctx: StepContext[Work]) -> dict[str, int]:
    """A plain def step that blocks, as people write their loops."""
    _note(ctx, "start")
    time.sleep(ctx.params.seconds)
    _note(ctx, "end")
    return {"done": ctx.index + 1}


@job_kind(params=Work, total=lambda p: p.steps)
async def reporting(ctx: StepContext[Work]) -> dict[str, int]:
    """Reports its progress five times during each step."""
    for part in range(5):
        ctx.progress(f"part {part + 1} of 5", part / 5)
        await asyncio.sleep(ctx.params.seconds / 5)
    return {"parts": 5}
