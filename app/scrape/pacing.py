"""The per-host delay: a floor between the starts of any two requests to one host.

fetch.py books a host's window when a request starts and again when it ends,
so the gap holds as the site sees it, whatever each request's latency. The
booking at the start is handed out as a checkpoint cursor before the request
goes out, so a step cut short after its request left still keeps the window.

Two layers keep it. ``HostSlots`` is process-wide, shared by every job (as
Scrapy's per-domain slots are): a host gets one request at a time, so two
jobs scraping one site at ``delay=1`` take turns instead of doubling its
load. Each replica has its own slots. The cursor's state is the job's own
``{host: not_before}``, wall-clock seconds rounded up to 1 ms, so a resume
on another replica does not fire early; only hosts still inside their window
are kept, which keeps it tiny. Jitter only ever lengthens the pause (up to
+20 %).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    not_before: float = 0.0


class HostSlots:
    """Each host's turn in this process, for every job alike: one request at a
    time, each starting at least its delay after the previous one started and
    after it ended (Scrapy's per-domain slots, with a concurrency of one).

    Bounded: the least recently used hosts are forgotten past ``limit`` (their
    windows have long passed; the cursor keeps a job's own in any case).
    """

    def __init__(self, limit: int = SLOTS_LIMIT, clock: Clock = time.time) -> None:
        self._slots: LRU[str, _Slot] = LRU(limit)
        self._clock = clock

    def _slot(self, host: str) -> _Slot:
        slot = self._slots.get(host)
        if slot is None:
            slot = _Slot()
            self._slots.put(host, slot)
        return slot

    @asynccontextmanager
    async def turn(self, host: str, not_before: float, spacing: float) -> AsyncIterator[float]:
        """Wait for ``host``'s turn (and ``not_before``); hold it while the body
        runs; the next turn is ``spacing`` after both its start and its end."""
        slot = self._slot(host)
        async with slot.lock:
            wait = max(not_before, slot.not_before) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            started = self._clock()
            self.hold(host, started + spacing)
            try:
                yield started
            finally:
                self.hold(host, self._clock() + spacing)

    def hold(self, host: str, until: float) -> None:
        """No start for ``host`` before ``until``."""
        slot = self._slot(host)
        slot.not_before = max(slot.not_before, until)


class Pacer:
    """One step's view of the windows: waits for a host's turn and books each request."""

    def __init__(
        self,
        state: object,
        slots: HostSlots,
        clock: Clock = time.time,
        checkpoint: Callable[[PaceState | None], None] | None = None,
    ) -> None:
        self._windows = windows_from_state(state, clock())
        self._slots = slots
        self._clock = clock
        self._checkpoint = checkpoint

    @asynccontextmanager
    async def turn(self, host: str, delay: float) -> AsyncIterator[None]:
        """Wait until ``host`` may get a request and hold its turn while it runs.
        The window is booked when the request starts and again when it ends, so
        the site sees at least ``delay`` between two requests whatever the
        latency of each."""
        spacing = _jittered(delay)
        async with self._slots.turn(host, self._windows.get(host, 0.0), spacing) as started:
            self._book(host, started + spacing)
            if self._checkpoint is not None:
                # Out with the booking before the request: a resume from any replica,
                # after a crash mid-request, waits the window out.
                self._checkpoint(self.state())
            try:
                yield
            finally:
                self._book(host, self._clock() + spacing)

    def defer(self, host: str, seconds: float) -> None:
        """Hold ``host`` back for ``seconds`` (plus jitter) from now."""
        not_before = self._clock() + _jittered(seconds)
        self._book(host, not_before)
        self._slots.hold(host, not_before)

    def _book(self, host: str, not_before: float) -> None:
        if not_before > self._clock():
            self._windows[host] = max(_round_up(not_before), self._windows.get(host, 0.0))

    def state(self) -> PaceState | None:
        """The windows still open, for the cursor; None when none is."""
        now = self._clock()
        open_windows = {host: moment for host, moment in self._windows.items() if moment > now}
        return open_windows or None
