"""Politeness across jobs in one process, and pacing without a rounding floor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.jobs.scrape import ScrapeJob
from app.scrape.pacing import HostSlots, Pacer
from tests.site import Site
from tests.test_scrape import assert_gaps_at_least, run, scrape_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


async def test_two_jobs_on_one_host_take_turns(site: Site) -> None:
    """Two people scraping one site at delay=1 from one server: the site sees one
    request per second, not two (the per-host slots are process-wide)."""
    delay = 1.0
    job = ScrapeJob(scrape_settings())
    try:
        first = [f"{site.url}/page/{n}" for n in (1, 2, 3)]
        second = [f"{site.url}/page/{n}" for n in (4, 5, 6)]
        with_robots = await asyncio.gather(
            run(job, first, delay=delay, robots=False), run(job, second, delay=delay)
        )
    finally:
        await job.aclose()
    assert all(step.ok for steps in with_robots for step in steps)
    assert len(site.hits) == 7
    assert_gaps_at_least(site, delay)


class FrozenClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_zero_delay_books_no_window() -> None:
    """Windows were rounded up to 10 ms, which capped a fast site at 100 pages/s."""
    clock = FrozenClock(1000.0001)
    pacer = Pacer(None, HostSlots(clock=clock), clock)
    for _ in range(3):
        async with asyncio.timeout(0.5), pacer.turn("fast.example", 0.0):
            pass
    assert pacer.state() is None


async def test_windows_are_kept_to_the_millisecond() -> None:
    clock = FrozenClock(1000.0001)
    pacer = Pacer(None, HostSlots(clock=clock), clock)
    async with pacer.turn("a.example", 0.002):
        pass
    state = pacer.state()
    assert state is not None
    assert 1000.0021 <= state["a.example"] <= 1000.0001 + 0.002 * 1.2 + 0.001


async def test_slots_are_bounded() -> None:
    slots = HostSlots(limit=2, clock=FrozenClock(0.0))
    for host in ("a", "b", "c"):
        slots.hold(host, 100.0)
    async with asyncio.timeout(0.5), slots.turn("a", 0, 0) as started:
        assert started == 0.0  # forgotten: the least recently used
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1), slots.turn("c", 0, 0):
            pass
