"""``@job_kind``: a plain function as a job kind, the way most people write their loop.

A ``def`` step runs in a worker thread, so blocking code (``time.sleep``,
``requests.get``) just works; an ``async def`` step runs on the event loop.
Worker threads are shared by every job of the process and capped at
``MAX_STEP_THREADS``; a step abandoned by its client keeps its thread until it
returns (``ctx.cancelled`` tells it to hurry), and its result is thrown away.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any, Generic, cast

import anyio
import anyio.to_thread

from app.jobs.base import JobKind, P, Step, StepContext

MAX_STEP_THREADS = 64

StepResult = Step | dict[str, Any]
StepFunction = Callable[[StepContext[P]], StepResult | Awaitable[StepResult]]


@cache
def _step_threads() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(MAX_STEP_THREADS)


class FunctionKind(JobKind[P], Generic[P]):
    """A kind made by ``job_kind``; calling it calls the step function itself."""

    def __init__(
        self,
        function: StepFunction[P],
        *,
        params: type[P],
        total: int | Callable[[P], int],
        name: str,
        title: str,
        description: str,
        aliases: Mapping[str, str],
    ) -> None:
        self.function = function
        self.params_model = params
        self._total = total
        self.name = name
        self.title = title
        self.description = description
        self.query_aliases = dict(aliases)
        self._is_async = inspect.iscoroutinefunction(function)

    def __call__(self, ctx: StepContext[P]) -> StepResult | Awaitable[StepResult]:
        return self.function(ctx)

    def total(self, params: P) -> int:
        return self._total(params) if callable(self._total) else self._total

    async def step(self, ctx: StepContext[P]) -> StepResult:
        if self._is_async:
            return await cast(Awaitable[StepResult], self.function(ctx))
        return cast(
            StepResult,
            await anyio.to_thread.run_sync(
                self.function, ctx, abandon_on_cancel=True, limiter=_step_threads()
            ),
        )


def job_kind(
    *,
    params: type[P],
    total: int | Callable[[P], int],
    name: str | None = None,
    title: str = "",
    description: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Callable[[StepFunction[P]], FunctionKind[P]]:
    """Make a job kind of a step function: ``total`` steps, each one call of it.

    The name is the function's unless given; the description is its docstring's.
    """

    def decorate(function: StepFunction[P]) -> FunctionKind[P]:
        return FunctionKind(
            function,
            params=params,
            total=total,
            name=name or function.__name__,
            title=title,
            description=description
            if description is not None
            else inspect.cleandoc(function.__doc__ or ""),
            aliases=aliases or {},
        )

    return decorate
