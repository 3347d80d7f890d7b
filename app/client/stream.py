"""The async client: follows a job to its end over SSE, whatever happens on the way.

It resumes from the newest cursor after a dropped connection, a restart or a
5xx (waiting as the stream's ``retry:`` or a ``Retry-After`` says), and when
no ``start`` arrives in time (a buffering proxy holds the stream back) it
switches to the JSON steps endpoint for the rest of the job. Steps are
deduplicated by index, so none is yielded twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
import httpx
from httpx_sse import EventSource, SSEError

from app.client.backoff import Backoff, retry_after_seconds
from app.client.errors import ClientError, JobError, api_error
from app.client.models import JobInfo, StepResult, Summary

DEFAULT_URL = "http://127.0.0.1:8000"
T = TypeVar("T")


class _Retry(Exception):
    """A failure worth another attempt: no answer, a 5xx, a cut stream."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class AsyncClient:
    """A stepstream server's client; ``async with`` it, or call ``aclose``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        give_up: float = 120.0,
        read_timeout: float = 60.0,
        start_timeout: float = 5.0,
        max_backoff: float = 30.0,
    ) -> None:
        # The read timeout must stay above the server's heartbeat: comments reset it.
        timeout = httpx.Timeout(10.0, read=read_timeout)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self.give_up = give_up
        self.start_timeout = start_timeout
        self.max_backoff = max_backoff

    def run(self, kind: str, /, **params: Any) -> JobRun:
        """Create a job and follow it: ``async for step in client.run("sleep", steps=5)``."""
        return JobRun(self, self._http, kind=kind, params=params)

    def resume(self, job: str, cursor: str | None = None) -> JobRun:
        """Follow a job from ``cursor`` (its start when None): only the steps after it."""
        return JobRun(self, self._http, job=job, cursor=cursor)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class JobRun:
    """One job followed to its end. Iterate it for the steps; afterwards
    ``summary`` holds the ``done`` event (None when the server answered 204)."""

    def __init__(
        self,
        client: AsyncClient,
        http: httpx.AsyncClient,
        *,
        kind: str | None = None,
        params: dict[str, Any] | None = None,
        job: str | None = None,
        cursor: str | None = None,
    ) -> None:
        self._http = http
        self._kind = kind
        self._params = params or {}
        self._token = job
        self._start_timeout = client.start_timeout
        self._backoff = Backoff(client.give_up, client.max_backoff)
        self.job: JobInfo | None = None
        self.cursor = cursor
        self.summary: Summary | None = None
        self.fallback = False
        self.finished = False
        self._next: int | None = None if cursor else 0

    def __aiter__(self) -> AsyncGenerator[StepResult]:
        return self._steps()

    async def _steps(self) -> AsyncGenerator[StepResult]:
        self.job = await self._attempt(self._describe)
        while not self.finished:
            try:
                if self.fallback:
                    for step in await self._batch():
                        yield step
                else:
                    async with aclosing(self._stream()) as steps:
                        async for step in steps:
                            yield step
                    if not self.finished:
                        raise _Retry("the stream ended before the job was done")
            except _Retry as failure:
                await self._wait_after(failure)

    async def _wait_after(self, failure: _Retry) -> None:
        await self._backoff.wait(
            failure.reason, failure.retry_after, job=self._token, cursor=self.cursor
        )

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` again and again (with backoff) until it works or we give up."""
        while True:
            try:
                result = await call()
            except _Retry as failure:
                await self._wait_after(failure)
            else:
                self._backoff.progress()
                return result

    async def _describe(self) -> JobInfo:
        if self._kind is not None:
            body = {"kind": self._kind, "params": self._params}
            response = await self._request("POST", "/api/jobs", json=body)
        else:
            response = await self._request("GET", f"/api/jobs/{self._token}")
        job = JobInfo.from_answer(response.json())
        self._token = job.token
        return job

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise _Retry(_describe_error(exc)) from exc
        self._check(response, response.content)
        return response

    def _check(self, response: httpx.Response, body: bytes) -> None:
        status = response.status_code
        if status < 300:
            return
        if status >= 500 or status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise _Retry(f"the server answered {status}", wait)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        raise api_error(status, payload, job=self._token, cursor=self.cursor)

    async def _stream(self) -> AsyncGenerator[StepResult]:
        assert self.job is not None
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.cursor:
            headers["Last-Event-ID"] = self.cursor
        request = self._http.build_request("GET", self.job.events_url, headers=headers)
        try:
            with anyio.fail_after(self._start_timeout):
                response = await self._http.send(request, stream=True)
        except TimeoutError:
            self._switch_to_fallback()
            return
        except httpx.TransportError as exc:
            raise _Retry(_describe_error(exc)) from exc
        try:
            if response.status_code == 204:
                self.finished = True
                return
            if response.status_code != 200:
                self._check(response, await response.aread())
            events = EventSource(response).aiter_sse()
            try:
                with anyio.fail_after(self._start_timeout):
                    first = await anext(events)
            except TimeoutError:
                self._switch_to_fallback()
                return
            if first.event != "start":
                raise _Retry(f"the stream began with {first.event!r}, not 'start'")
            self._accept(first.event, first.json(), first.id)
            self._backoff.retry = (first.retry or 2000) / 1000
            async for sse in events:
                if not sse.data:
                    continue  # httpx-sse turns a heartbeat after an id into an empty message
                step = self._accept(sse.event, sse.json(), sse.id)
                if step is not None:
                    yield step
                if self.finished:
                    return
        except (httpx.TransportError, SSEError, ValueError, KeyError, StopAsyncIteration) as exc:
            raise _Retry(_describe_error(exc)) from exc
        finally:
            await response.aclose()

    def _switch_to_fallback(self) -> None:
        self.fallback = True
        self._backoff.progress()

    async def _batch(self) -> list[StepResult]:
        assert self.job is not None
        body = {"cursor": self.cursor} if self.cursor else {}
        response = await self._request("POST", self.job.steps_url, json=body)
        try:
            answer = response.json()
            steps = [self._accept(e["event"], e["data"], e["id"]) for e in answer["events"]]
            if answer["done"]:
                self.finished = True
        except (ValueError, KeyError, TypeError) as exc:
            raise _Retry(f"the steps endpoint answered something else: {exc}") from exc
        return [step for step in steps if step is not None]

    def _accept(self, event: str, data: dict[str, Any], cursor: str | None) -> StepResult | None:
        """Take one event in; a step comes back unless it was seen already."""
        self._backoff.progress()
        if event == "error":
            raise JobError(
                str(data.get("code")), str(data.get("message")), job=self._token, cursor=self.cursor
            )
        if cursor is None:
            raise ClientError(f"a {event!r} event came without an id", job=self._token)
        if event == "start":
            self._next = int(data["next"])
        elif event == "step":
            step = StepResult.from_event(data, cursor)
            if self._next is not None and step.index < self._next:
                return None
            self._next = step.index + 1
            self.cursor = cursor
            return step
        elif event == "done":
            self.summary = Summary(int(data["total"]), int(data["ok"]), int(data["failed"]))
            self.cursor = cursor
            self.finished = True
        return None


def _describe_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
