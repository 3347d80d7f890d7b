"""A blocking face for scripts: the async client run on an event loop in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from anyio.from_thread import start_blocking_portal

from app.client.models import StepResult
from app.client.stream import DEFAULT_URL, AsyncClient, JobRun


class Client:
    """``for step in Client(url).run("sleep", steps=5)``; close it (or ``with`` it) when done."""

    def __init__(self, base_url: str = DEFAULT_URL, **options: Any) -> None:
        self._exit = ExitStack()
        self._portal = self._exit.enter_context(start_blocking_portal())
        self._client = AsyncClient(base_url, **options)

    def run(self, kind: str, /, **params: Any) -> Iterator[StepResult]:
        return self._iterate(self._client.run(kind, **params))

    def resume(self, job: str, cursor: str | None = None) -> Iterator[StepResult]:
        return self._iterate(self._client.resume(job, cursor))

    def _iterate(self, run: JobRun) -> Iterator[StepResult]:
        steps = run.__aiter__()
        try:
            while True:
                try:
                    yield self._portal.call(steps.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            self._portal.call(steps.aclose)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._exit.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
