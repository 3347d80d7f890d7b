"""The per-host delay: a floor between the starts of any two requests to one host.

fetch.py books a host's window when a request starts and again when it ends,
so the gap holds as the site sees it, whatever each request's latency.

The state is ``{host: not_before}``, wall-clock seconds rounded up to 1/100 s,
so it can travel in the cursor and a resume on another replica does not fire
early. Only hosts still inside their window are kept, which keeps it tiny.
Jitter only ever lengthens the pause (up to +20 %).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable

from app.scrape.lru import LRU

JITTER = 0.2
RECENT_LIMIT = 4096

PaceState = dict[str, float]


def _round_up(moment: float) -> float:
    return math.ceil(moment * 100) / 100


RecentStarts = LRU[tuple[str, str], float]
"""The windows booked lately in this process, by (job, host).

Only an optimization: a step cancelled after it sent a request (the JSON
fallback's budget ran out) leaves no cursor behind, so its re-run would
otherwise start from the older cursor's state and fire early.
"""


class Pacer:
    """One step's view of the windows: waits for a host's turn and records each start."""

    def __init__(
        self,
        state: object,
        job: str,
        recent: RecentStarts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._windows: PaceState = {}
        if isinstance(state, dict):
            self._windows = {
                str(host): float(moment)
                for host, moment in state.items()
                if isinstance(moment, int | float)
            }
        self._job = job
        self._recent = recent
        self._clock = clock

    async def turn(self, host: str, delay: float) -> None:
        """Wait until ``host`` may get a request, then book its next window."""
        not_before = max(self._windows.get(host, 0.0), self._recent.get((self._job, host)) or 0.0)
        wait = not_before - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self.defer(host, delay)

    def defer(self, host: str, seconds: float) -> None:
        """Hold ``host`` back for ``seconds`` (plus jitter) from now."""
        not_before = _round_up(self._clock() + seconds * (1 + random.uniform(0, JITTER)))
        self._windows[host] = max(not_before, self._windows.get(host, 0.0))
        key = (self._job, host)
        self._recent.put(key, max(self._windows[host], self._recent.get(key) or 0.0))

    def state(self) -> PaceState | None:
        """The windows still open, for the cursor; None when none is."""
        now = self._clock()
        open_windows = {host: moment for host, moment in self._windows.items() if moment > now}
        return open_windows or None
