"""The classic demo: count to N, one step every ``wait`` seconds."""

from __future__ import annotations

import asyncio

from pydantic import Field

from app.jobs.base import JobKind, Params, Step
from app.tokens import JobState


class SleepParams(Params):
    steps: int = Field(5, ge=1, le=100_000, description="How many steps to count.")
    wait: float = Field(1.0, ge=0, le=86_400, description="Seconds each step takes.")


class SleepJob(JobKind[SleepParams]):
    name = "sleep"
    params_model = SleepParams

    def total(self, params: SleepParams) -> int:
        return params.steps

    async def step(self, params: SleepParams, index: int, state: JobState) -> Step:
        if params.wait:
            await asyncio.sleep(params.wait)
        return Step({"count": index + 1})
