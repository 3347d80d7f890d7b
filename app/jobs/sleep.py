"""The classic demo: count to N, one step every ``wait`` seconds."""

from __future__ import annotations

import asyncio

from pydantic import Field

from app.jobs.base import JobKind, Params, Step, StepContext


class SleepParams(Params):
    steps: int = Field(5, ge=1, le=100_000, description="How many steps to count.")
    wait: float = Field(
        1.0, ge=0, le=86_400, title="Seconds per step", description="Seconds each step takes."
    )


class SleepJob(JobKind[SleepParams]):
    name = "sleep"
    title = "Count"
    description = "Count to N, one step every `wait` seconds: the classic demo."
    params_model = SleepParams

    def total(self, params: SleepParams) -> int:
        return params.steps

    async def step(self, ctx: StepContext[SleepParams]) -> Step:
        if ctx.params.wait:
            await asyncio.sleep(ctx.params.wait)
        return Step({"count": ctx.index + 1})
