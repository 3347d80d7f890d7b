"""The async client: the server's kinds, and jobs to follow (``app/client/run.py``)."""

from __future__ import annotations

from typing import Any

import httpx

from app.client.errors import ClientError, Unreachable, api_error
from app.client.models import KindInfo
from app.client.run import JobRun, describe_error, json_or_none

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_BUDGET = 10.0
"""Seconds of steps a fallback batch asks for at first: the server's default cap."""


class AsyncClient:
    """A stepstream server's client; ``async with`` it, or call ``aclose``.

    ``api_key`` is sent as ``Authorization: Bearer``: a server with
    ``STEPSTREAM_API_KEYS`` set needs it to start a job (else ``Unauthorized``).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        give_up: float = 120.0,
        read_timeout: float = 60.0,
        start_timeout: float = 5.0,
        max_backoff: float = 30.0,
        budget: float = DEFAULT_BUDGET,
    ) -> None:
        # The read timeout must stay above the server's heartbeat: comments reset it.
        timeout = httpx.Timeout(10.0, read=read_timeout)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, headers=headers)
        self.give_up = give_up
        self.start_timeout = start_timeout
        self.max_backoff = max_backoff
        self.budget = budget

    async def kinds(self) -> list[KindInfo]:
        """The kinds the server runs, asked once (a command building its options waits
        for nobody): ``Unreachable`` when there is no answer."""
        try:
            response = await self._http.get("/api/kinds")
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {self._http.base_url}: {describe_error(exc)}") from exc
        if response.status_code != 200:
            raise api_error(response.status_code, json_or_none(response.content), job=None)
        try:
            return [KindInfo.from_answer(kind) for kind in response.json()["kinds"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ClientError(f"{self._http.base_url} does not list kinds: {exc!r}") from exc

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
