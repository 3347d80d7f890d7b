"""The scrape kind's steps, run in-process against the suite's own site on 127.0.0.1.

Only the site's exact address is allowed, so every refused address here is a
loopback address outside that net: a broken guard would still send nothing
off this machine. The end-to-end runs through a real server are in
test_scrape_e2e.py.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.jobs.base import Step
from app.jobs.scrape import ScrapeJob
from app.scrape.decode import BoundedBody
from app.settings import Settings
from tests.contexts import context
from tests.servers import free_port
from tests.site import BOMB_BYTES, ROBOTS, Site, page_html

pytestmark = pytest.mark.anyio

DELAY = 0.2
MAX_BYTES = 100_000


def scrape_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_key": ["test"],
        "scrape_allow_nets": ["127.0.0.1/32"],
        "scrape_min_delay": 0.1,
        "scrape_max_bytes": MAX_BYTES,
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


@pytest.fixture
async def job() -> AsyncIterator[ScrapeJob]:
    kind = ScrapeJob(scrape_settings())
    yield kind
    await kind.aclose()


async def run(job: ScrapeJob, urls: list[str], **params: Any) -> list[Step]:
    parsed = job.parse({"urls": urls, "delay": DELAY, **params})
    steps, state = [], None
    for index in range(job.total(parsed)):
        step = await job.step(context(parsed, index, state))
        steps.append(step)
        state = step.state
    return steps


def assert_gaps_at_least(site: Site, delay: float, prefix: str = "") -> None:
    gaps = site.gaps(prefix)
    assert gaps, "expected at least two requests"
    assert min(gaps) >= delay, f"gaps {gaps} under the delay {delay}"


async def test_html_page_fields_and_a_non_html_file(job: ScrapeJob, site: Site) -> None:
    steps = await run(job, [f"{site.url}/page/1", f"{site.url}/data.json"], selector="p.lead")
    page, data = (step.result for step in steps)
    assert [step.ok for step in steps] == [True, True]
    assert page["elapsed_ms"] > 0
    assert {**page, "elapsed_ms": None} == {
        "url": f"{site.url}/page/1",
        "final_url": f"{site.url}/page/1",
        "status": 200,
        "ok": True,
        "content_type": "text/html",
        "bytes": len(page_html(1)),
        "elapsed_ms": None,
        "encoding": "utf-8",
        "encoding_source": "header",
        "title": "Page 1",
        "description": "About page 1",
        "h1": "Heading 1",
        "links": [f"{site.url}/page/2", "https://example.org/x"],
        "refresh": None,
        "words": 12,
        "chars": 49,
        "matches": ["Hello from page 1.", "Second para"],
        "attempts": 1,
        "error": None,
    }
    assert data["content_type"] == "application/json"
    assert data["ok"] is True and data["status"] == 200 and data["bytes"] == 15
    assert data["title"] is None and data["links"] == [] and data["words"] is None
    assert site.paths() == ["/robots.txt", "/page/1", "/data.json"]
    agent = site.hits[1].headers["User-Agent"]
    assert agent.startswith("stepstream/") and "https://" in agent
    assert_gaps_at_least(site, DELAY)


async def test_429_with_retry_after_then_200(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/flaky?status=429&retry_after=1&times=1"])
    assert step.ok
    assert step.result["status"] == 200
    assert step.result["title"] == "Page 7"
    assert step.result["attempts"] == 2
    assert_gaps_at_least(site, 1.0, "/flaky")


async def test_503_that_never_recovers_gives_up_after_two_retries(
    job: ScrapeJob, site: Site
) -> None:
    [step] = await run(job, [f"{site.url}/flaky?status=503&times=99"])
    assert not step.ok
    assert step.result["error"] == "http_status"
    assert step.result["status"] == 503
    assert step.result["attempts"] == 3
    first, second = site.gaps("/flaky")
    assert first >= 1.0 and second >= 2.0  # exponential backoff


async def test_a_retry_after_past_the_cap_is_not_waited_for(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/flaky?status=429&retry_after=3600&times=1"])
    assert step.result["error"] == "http_status"
    assert step.result["status"] == 429
    assert step.result["attempts"] == 1


async def test_a_404_fails_its_step_and_the_job_goes_on(job: ScrapeJob, site: Site) -> None:
    steps = await run(job, [f"{site.url}/status/404", f"{site.url}/page/2"])
    assert [step.ok for step in steps] == [False, True]
    assert steps[0].result["error"] == "http_status"
    assert steps[0].result["status"] == 404
    assert steps[0].result["attempts"] == 1


async def test_huge_page_stops_at_the_byte_cap(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/huge?bytes=2000000"])
    assert not step.ok
    assert step.result["error"] == "too_large"
    assert step.result["bytes"] == MAX_BYTES
    assert step.result["title"] is None


async def test_gzip_bomb_stops_at_the_byte_cap(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/bomb"])
    assert step.result["error"] == "too_large"
    assert step.result["bytes"] == MAX_BYTES


def test_a_gzip_bomb_is_never_inflated_past_the_limit() -> None:
    """Fed the whole 50 MB bomb at once, the decoder holds at most the limit in memory."""
    bomb = gzip.compress(b"\0" * BOMB_BYTES, compresslevel=9)
    tracemalloc.start()
    try:
        body = BoundedBody("gzip", MAX_BYTES)
        assert body.feed(bomb) is False
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert body.truncated and len(body.data) == MAX_BYTES
    assert peak < 10 * MAX_BYTES


async def test_robots_disallow_and_crawl_delay(job: ScrapeJob) -> None:
    crawl_delay = 0.6
    with Site(robots=ROBOTS + f"Crawl-delay: {crawl_delay}\n") as site:
        urls = [f"{site.url}/page/1", f"{site.url}/private/2", f"{site.url}/page/3"]
        steps = await run(job, urls)
    assert [step.ok for step in steps] == [True, False, True]
    assert steps[1].result["error"] == "robots_disallowed"
    assert steps[1].result["attempts"] == 0
    assert site.paths() == ["/robots.txt", "/page/1", "/page/3"]
    assert_gaps_at_least(site, crawl_delay)


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (500, False)], ids=["4xx-allows", "5xx-disallows"]
)
async def test_robots_unavailable_or_unreachable(
    job: ScrapeJob, status: int, allowed: bool
) -> None:
    with Site(robots_status=status) as site:
        [step] = await run(job, [f"{site.url}/private/1"])
    assert step.ok is allowed
    assert step.result["error"] == (None if allowed else "robots_disallowed")


async def test_robots_false_skips_robots_txt(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/private/1"], robots=False)
    assert step.ok
    assert site.paths() == ["/private/1"]


async def test_redirect_chain_is_followed_and_paced(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/redirect/3"])
    assert step.ok
    assert step.result["final_url"] == f"{site.url}/page/1"
    assert step.result["status"] == 200
    assert step.result["title"] == "Page 1"
    assert step.result["attempts"] == 4
    assert site.paths()[1:] == ["/redirect/3", "/redirect/2", "/redirect/1", "/page/1"]
    assert_gaps_at_least(site, DELAY)


async def test_a_site_is_served_on_one_kept_alive_connection(job: ScrapeJob, site: Site) -> None:
    """robots.txt, pages, a redirect chain and a 404 share one connection; a body
    left unread past its cap closes its connection, and the next page opens one."""
    pages = ["/page/1", "/redirect/2", "/status/404", "/page/2", "/huge", "/page/3"]
    steps = await run(job, [f"{site.url}{page}" for page in pages])
    assert [step.ok for step in steps] == [True, True, False, True, False, True]
    peers = [hit.peer for hit in site.hits]
    assert peers[:-1] == [peers[0]] * (len(peers) - 1)
    assert peers[-1] != peers[0]


async def test_too_many_redirects(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/redirect/9"])
    assert step.result["error"] == "too_many_redirects"
    assert step.result["attempts"] == 6


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/page/1",
        "http://[::1]:{port}/page/1",
        "http://0.0.0.0:{port}/page/1",
        "http://2130706434:{port}/page/1",
        "http://localhost:{port}/page/1",
        "http://app.localhost.:{port}/page/1",
    ],
)
async def test_redirect_to_a_refused_address_is_blocked(
    job: ScrapeJob, site: Site, target: str
) -> None:
    location = target.format(port=site.port)
    [step] = await run(job, [f"{site.url}/to?location={location}"])
    assert not step.ok
    assert step.result["error"] == "blocked"
    assert step.result["status"] is None
    assert step.result["attempts"] == 1
    assert [path for path in site.paths() if path != "/robots.txt"] == [f"/to?location={location}"]


async def test_timeout_is_retried_then_reported(job: ScrapeJob, site: Site) -> None:
    [step] = await run(job, [f"{site.url}/slow?seconds=1.5"], timeout=0.3)
    assert step.result["error"] == "timeout"
    assert step.result["attempts"] == 3
    assert step.result["status"] is None


async def test_connect_error_is_reported(job: ScrapeJob) -> None:
    [step] = await run(job, [f"http://127.0.0.1:{free_port()}/"], robots=False)
    assert step.result["error"] == "connect_error"
    assert step.result["attempts"] == 3


async def test_delay_holds_across_a_resume_on_another_replica(site: Site) -> None:
    """A fresh kind (no in-memory memory) given the cursor's state waits out the delay."""
    delay = 1.0
    urls = [f"{site.url}/page/1", f"{site.url}/page/2"]
    first, second = ScrapeJob(scrape_settings()), ScrapeJob(scrape_settings())
    try:
        params = first.parse({"urls": urls, "delay": delay})
        step = await first.step(context(params, 0, None))
        assert isinstance(step.state, dict) and list(step.state) == ["127.0.0.1"]
        await second.step(context(second.parse({"urls": urls, "delay": delay}), 1, step.state))
    finally:
        await first.aclose()
        await second.aclose()
    assert_gaps_at_least(site, delay)
    assert max(site.gaps()) < delay * 1.2 + 1.0
