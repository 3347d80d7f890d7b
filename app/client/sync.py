"""A blocking face for scripts: the async client run on an event loop in a thread."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import ExitStack
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from app.client.client import DEFAULT_URL, AsyncClient
from app.client.models import JobInfo, KindInfo, StepResult, Summary
from app.client.run import JobRun, Update

T = TypeVar("T")


class Client:
    """``for step in Client(url).run("sleep", steps=5)``; close it (or ``with`` it) when done.

    Takes the options of ``AsyncClient`` (``api_key``, ``give_up``, ``budget``...).
    """

    def __init__(self, base_url: str = DEFAULT_URL, **options: Any) -> None:
        self._exit = ExitStack()
        self._portal = self._exit.enter_context(start_blocking_portal())
        self._client = AsyncClient(base_url, **options)

    def kinds(self) -> list[KindInfo]:
        return self._portal.call(self._client.kinds)

    def run(self, kind: str, /, **params: Any) -> Run:
        return Run(self._portal, self._client.run(kind, **params))

    def resume(self, job: str, cursor: str | None = None) -> Run:
        return Run(self._portal, self._client.resume(job, cursor))

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._exit.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Run:
    """A job followed from blocking code: iterate it for the steps, or
    ``with_progress()`` for the steps and ``Progress`` reports."""

    def __init__(self, portal: BlockingPortal, run: JobRun) -> None:
        self._portal = portal
        self._run = run

    def __iter__(self) -> Iterator[StepResult]:
        return self._iterate(self._run.__aiter__())

    def with_progress(self) -> Iterator[Update]:
        return self._iterate(self._run.with_progress())

    @property
    def job(self) -> JobInfo | None:
        return self._run.job

    @property
    def summary(self) -> Summary | None:
        return self._run.summary

    @property
    def cursor(self) -> str | None:
        return self._run.cursor

    @property
    def fallback(self) -> bool:
        return self._run.fallback

    def _iterate(self, updates: AsyncGenerator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._portal.call(updates.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            self._portal.call(updates.aclose)
