"""The per-host delay: a floor between the starts of any two requests to one host.

fetch.py books a host's window when a request starts and again when it ends,
so the gap holds as the site sees it, whatever each request's latency.

Two layers keep it. ``HostSlots`` is process-wide, shared by every job (as
Scrapy's per-domain slots are): each request reserves the next free start of
its host, so two jobs scraping one site at ``delay=1`` take turns instead of
doubling its load. Each replica has its own slots. The cursor's state is the
job's own ``{host: not_before}``, wall-clock seconds rounded up to 1 ms, so a
resume on another replica does not fire early; only hosts still inside their
window are kept, which keeps it tiny. Jitter only ever lengthens the pause
(up to +20 %).
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable

from app.scrape.lru import LRU

JITTER = 0.2
SLOTS_LIMIT = 4096
MAX_AHEAD = 4 * 3600.0
"""No window is booked further ahead than this (the longest backoff of the
longest delay is 2 h); a cursor that says otherwise is refused."""

PaceState = dict[str, float]
Clock = Callable[[], float]


def _round_up(moment: float) -> float:
    return math.ceil(moment * 1000) / 1000


def _jittered(seconds: float) -> float:
    return seconds * (1 + random.uniform(0, JITTER))


def windows_from_state(state: object, now: float) -> PaceState:
    """The windows a cursor carries; ValueError for any that is not a moment
    between the epoch and ``MAX_AHEAD`` from ``now`` (``Infinity``, ``1e308``,
    ``10**400``, a string)."""
    if state is None:
        return {}
    if not isinstance(state, dict):
        raise ValueError("the pacing state is not a mapping")
    windows: PaceState = {}
    for host, moment in state.items():
        valid = isinstance(moment, int | float) and not isinstance(moment, bool)
        if not valid or not 0 <= moment <= now + MAX_AHEAD or not math.isfinite(moment):
            raise ValueError(f"the pacing window of {str(host)[:100]!r} is out of range")
        windows[str(host)] = float(moment)
    return windows


class HostSlots:
    """The next free start of each host in this process, for every job alike.

    Bounded: the least recently used hosts are forgotten past ``limit`` (their
    windows have long passed; the cursor keeps a job's own in any case).
    """

    def __init__(self, limit: int = SLOTS_LIMIT, clock: Clock = time.time) -> None:
        self._next: LRU[str, float] = LRU(limit)
        self._lock = threading.Lock()
        self._clock = clock

    def reserve(self, host: str, not_before: float, spacing: float) -> float:
        """Book the first start at or after ``not_before`` that keeps ``spacing``
        after the host's last booking; returns it."""
        with self._lock:
            start = max(self._clock(), not_before, self._next.get(host) or 0.0)
            self._next.put(host, start + spacing)
            return start

    def hold(self, host: str, until: float) -> None:
        """No start for ``host`` before ``until``."""
        with self._lock:
            self._next.put(host, max(until, self._next.get(host) or 0.0))


class Pacer:
    """One step's view of the windows: waits for a host's turn and records each start."""

    def __init__(self, state: object, slots: HostSlots, clock: Clock = time.time) -> None:
        self._windows = windows_from_state(state, clock())
        self._slots = slots
        self._clock = clock

    async def turn(self, host: str, delay: float) -> None:
        """Wait until ``host`` may get a request, then book its next window."""
        spacing = _jittered(delay)
        start = self._slots.reserve(host, self._windows.get(host, 0.0), spacing)
        self._book(host, start + spacing)
        wait = start - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)

    def defer(self, host: str, seconds: float) -> None:
        """Hold ``host`` back for ``seconds`` (plus jitter) from now."""
        if seconds > 0:
            not_before = self._clock() + _jittered(seconds)
            self._book(host, not_before)
            self._slots.hold(host, not_before)

    def _book(self, host: str, not_before: float) -> None:
        self._windows[host] = max(_round_up(not_before), self._windows.get(host, 0.0))

    def state(self) -> PaceState | None:
        """The windows still open, for the cursor; None when none is."""
        now = self._clock()
        open_windows = {host: moment for host, moment in self._windows.items() if moment > now}
        return open_windows or None
