"""How long to wait before the next attempt, and when to stop trying."""

from __future__ import annotations

import logging
import random
import time

import anyio

from app.client.errors import Unreachable

logger = logging.getLogger("stepstream.client")


class Backoff:
    """Waits the stream's ``retry:`` (or a ``Retry-After``), doubling on each
    failure in a row, and gives up once nothing has worked for ``give_up`` seconds.
    """

    def __init__(self, give_up: float, max_delay: float, retry: float = 2.0) -> None:
        self.give_up = give_up
        self.max_delay = max_delay
        self.retry = retry
        self._failures = 0
        self._failing_since: float | None = None

    def progress(self) -> None:
        """Something worked: the next failure starts from the base delay again."""
        self._failures = 0
        self._failing_since = None

    async def wait(
        self, reason: str, retry_after: float | None, *, job: str | None, cursor: str | None
    ) -> None:
        """Sleep before the next attempt; raise Unreachable when past the give-up time."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        remaining = self._failing_since + self.give_up - now
        if remaining <= 0:
            raise Unreachable(
                f"gave up after {self.give_up:g} s without an answer: {reason}",
                job=job,
                cursor=cursor,
            )
        delay = self.retry * 2**self._failures * random.uniform(1.0, 1.2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self._failures += 1
        delay = min(delay, self.max_delay, remaining)
        logger.warning("%s; trying again in %.1f s", reason, delay)
        await anyio.sleep(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is rare for 503s and is ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
