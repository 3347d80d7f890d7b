"""Following one job to its end over SSE, whatever happens on the way.

It resumes from the newest cursor after a dropped connection, a restart or a
5xx (waiting as the stream's ``retry:`` or a ``Retry-After`` says), and when
no ``start`` arrives in time (a buffering proxy holds the stream back) it
switches to the JSON steps endpoint for the rest of the job. Steps are
deduplicated by index, so none is yielded twice.

- A checkpoint (a message with only an ``id:``) becomes the cursor to resume
  from; it is not a step.
- ``progress`` events are yielded only by ``JobRun.with_progress()``: a plain
  ``async for step in run`` sees steps only, as it always did.
- Only ``step`` and ``done`` count as progress for the give-up clock, so a
  stream cut after each ``start`` gives up like a server that never answers.
- A batch that fails at a proxy (a 502, 503 or 504 without our JSON error
  body, or a read timeout) is asked again at once with half the budget, down
  to ``MIN_BUDGET``, so a buffering proxy with a short first-byte timeout
  works untuned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from app.client.backoff import Backoff, retry_after_seconds
from app.client.errors import ClientError, JobError, api_error
from app.client.models import JobInfo, Progress, StepResult, Summary

if TYPE_CHECKING:
    from app.client.client import AsyncClient

MIN_BUDGET = 1.0
PROXY_STATUSES = frozenset({502, 503, 504})
RETRYABLE = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
"""Worth another attempt; any other transport error (an ``ftp://`` server, a refused
proxy) is raised at once as a ``ClientError``: waiting would not change it."""

T = TypeVar("T")
Update = StepResult | Progress
logger = logging.getLogger("stepstream.client")


class _Retry(Exception):
    """A failure worth another attempt: no answer, a 5xx, a cut stream.

    ``at_proxy``: the failure came from something between us and the server
    (no JSON error body of ours, or no answer in time), not from the server.
    """

    def __init__(self, reason: str, retry_after: float | None = None, *, at_proxy: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.at_proxy = at_proxy


class JobRun:
    """One job followed to its end. Iterate it for the steps (or ``with_progress()``
    for the steps and ``Progress`` reports); afterwards ``summary`` holds the
    ``done`` event (None when the server answered 204), ``cursor`` the newest
    resume point."""

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
        self.budget = client.budget
        self.job: JobInfo | None = None
        self.cursor = cursor
        self.summary: Summary | None = None
        self.fallback = False
        self.finished = False
        self._next: int | None = None if cursor else 0

    def __aiter__(self) -> AsyncGenerator[StepResult]:
        return self._steps()

    def with_progress(self) -> AsyncGenerator[Update]:
        """The steps and, while one runs, its ``Progress`` reports (streams only:
        the JSON fallback has none)."""
        return self._updates()

    async def _steps(self) -> AsyncGenerator[StepResult]:
        async with aclosing(self._updates()) as updates:
            async for update in updates:
                if isinstance(update, StepResult):
                    yield update

    async def _updates(self) -> AsyncGenerator[Update]:
        self.job = await self._attempt(self._find_job)
        while not self.finished:
            try:
                if self.fallback:
                    for step in await self._batch():
                        yield step
                else:
                    async with aclosing(self._stream()) as updates:
                        async for update in updates:
                            yield update
                    if not self.finished and not self.fallback:
                        raise _Retry("the stream ended before the job was done")
            except _Retry as failure:
                if self.fallback and failure.at_proxy and self._shrink_budget(failure):
                    continue
                await self._wait_after(failure)

    def _shrink_budget(self, failure: _Retry) -> bool:
        """Ask for half the budget next; False once it is as small as it gets."""
        if self.budget <= MIN_BUDGET:
            return False
        self.budget = max(MIN_BUDGET, self.budget / 2)
        logger.warning("%s; asking for %g s of steps at a time", failure.reason, self.budget)
        return True

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

    async def _find_job(self) -> JobInfo:
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
        except RETRYABLE as exc:
            raise _Retry(describe_error(exc), at_proxy=isinstance(exc, httpx.ReadTimeout)) from exc
        except httpx.TransportError as exc:
            raise self._hopeless(exc) from exc
        self._check(response, response.content)
        return response

    def _hopeless(self, exc: httpx.TransportError) -> ClientError:
        return ClientError(describe_error(exc), job=self._token, cursor=self.cursor)

    def _check(self, response: httpx.Response, body: bytes) -> None:
        status = response.status_code
        if status < 300:
            return
        payload = json_or_none(body)
        if status >= 500 or status == 429:
            ours = isinstance(payload, dict) and isinstance(payload.get("error"), dict)
            wait = retry_after_seconds(response.headers.get("retry-after"))
            at_proxy = status in PROXY_STATUSES and not ours
            raise _Retry(f"the server answered {status}", wait, at_proxy=at_proxy)
        raise api_error(status, payload, job=self._token, cursor=self.cursor)

    async def _stream(self) -> AsyncGenerator[Update]:
        assert self.job is not None
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.cursor:
            headers["Last-Event-ID"] = self.cursor
        request = self._http.build_request("GET", self.job.events_url, headers=headers)
        try:
            with anyio.fail_after(self._start_timeout):
                response = await self._http.send(request, stream=True)
        except TimeoutError:
            self.fallback = True
            return
        except RETRYABLE as exc:
            raise _Retry(describe_error(exc)) from exc
        except httpx.TransportError as exc:
            raise self._hopeless(exc) from exc
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
                self.fallback = True
                return
            if first.event != "start":
                raise _Retry(f"the stream began with {first.event!r}, not 'start'")
            self._accept(first.event, first.json(), first.id)
            self._backoff.retry = (first.retry or 2000) / 1000
            async for sse in events:
                update = self._message(sse)
                if update is not None:
                    yield update
                if self.finished:
                    return
        except (*RETRYABLE, SSEError, ValueError, KeyError, StopAsyncIteration) as exc:
            raise _Retry(describe_error(exc)) from exc
        finally:
            await response.aclose()

    def _message(self, sse: ServerSentEvent) -> Update | None:
        if not sse.data:
            # A checkpoint (``id:`` alone); httpx-sse also turns each heartbeat after
            # an id into an empty message with that same id, which changes nothing.
            if sse.id:
                self.cursor = sse.id
            return None
        return self._accept(sse.event, sse.json(), sse.id)

    async def _batch(self) -> list[Update]:
        assert self.job is not None
        body = {"cursor": self.cursor, "budget": self.budget}
        response = await self._request("POST", self.job.steps_url, json=body)
        try:
            answer = response.json()
            updates = [self._accept(e["event"], e["data"], e["id"]) for e in answer["events"]]
            if answer["cursor"]:
                self.cursor = str(answer["cursor"])  # a checkpoint, when the budget cut a step
            if answer["done"]:
                self.finished = True
        except (ValueError, KeyError, TypeError) as exc:
            raise _Retry(f"the steps endpoint answered something else: {exc}") from exc
        return [update for update in updates if update is not None]

    def _accept(self, event: str, data: dict[str, Any], cursor: str | None) -> Update | None:
        """Take one event in; a step or progress comes back unless it was seen already."""
        if event == "error":
            raise JobError(
                str(data.get("code")), str(data.get("message")), job=self._token, cursor=self.cursor
            )
        if event == "progress":
            progress = Progress.from_event(data)
            return progress if self._next is None or progress.index >= self._next else None
        if cursor is None:
            raise ClientError(f"a {event!r} event came without an id", job=self._token)
        if event == "start":
            self._next = int(data["next"])
        elif event == "step":
            self._backoff.progress()
            step = StepResult.from_event(data, cursor)
            if self._next is not None and step.index < self._next:
                return None
            self._next = step.index + 1
            self.cursor = cursor
            return step
        elif event == "done":
            self._backoff.progress()
            self.summary = Summary(int(data["total"]), int(data["ok"]), int(data["failed"]))
            self.cursor = cursor
            self.finished = True
        return None


def json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def describe_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
