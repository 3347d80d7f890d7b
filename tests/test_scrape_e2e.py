"""Scrape the suite's own site through a real server: the SSE stream, the JSON
fallback, a resume on another replica, and 422s for params that are refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.servers import Server
from tests.site import Site
from tests.sse import collect, read_events, steps_of

pytestmark = pytest.mark.anyio

SCRAPE_ENV = {
    "STEPSTREAM_HEARTBEAT": "1",
    "STEPSTREAM_SCRAPE_ALLOW_NETS": "127.0.0.1/32",
    "STEPSTREAM_SCRAPE_MIN_DELAY": "0.1",
}


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


@pytest.fixture
def scrape_server(output_dir: Path) -> Iterator[Server]:
    with Server(SCRAPE_ENV, log_path=output_dir / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def checking_server() -> Iterator[Server]:
    """One server for the tests that only send params to be checked."""
    with Server(SCRAPE_ENV) as running:
        yield running


def record_gaps(output_dir: Path, site: Site, delay: float) -> list[float]:
    """The gaps the site saw, kept in test-output/ for the report."""
    gaps = [round(gap, 3) for gap in site.gaps()]
    (output_dir / "gaps.json").write_text(json.dumps({"delay": delay, "gaps": gaps}))
    return gaps


async def test_scrape_over_sse_with_heartbeats_during_a_slow_page(
    scrape_server: Server, site: Site, output_dir: Path
) -> None:
    delay = 1.0
    urls = [f"{site.url}/page/1", f"{site.url}/slow?seconds=2.5", f"{site.url}/data.json"]
    events: list[tuple[float, Any]] = []
    async with httpx.AsyncClient(base_url=scrape_server.url, timeout=30) as client:
        with anyio.fail_after(30):
            query = {"url": urls, "delay": str(delay)}
            async with client.stream("GET", "/api/scrape/events", params=query) as response:
                assert response.status_code == 200
                async for event in read_events(response):
                    events.append((time.time(), event))
    named = [event for _, event in events if not (event.is_heartbeat or event.is_checkpoint)]
    assert [event.event for event in named] == ["start", "step", "step", "step", "done"]
    checkpoints = [event for _, event in events if event.is_checkpoint]
    assert len(checkpoints) == 4, "one before each request: robots.txt and three pages"
    steps = [event.json for event in named if event.event == "step"]
    assert [step["ok"] for step in steps] == [True, True, True]
    first, slow, data = (step["result"] for step in steps)
    assert (first["title"], first["status"], first["h1"]) == ("Page 1", 200, "Heading 1")
    assert first["links"] == [f"{site.url}/page/2", "https://example.org/x"]
    assert slow["title"] == "Page 0" and slow["elapsed_ms"] >= 2500
    assert (data["content_type"], data["title"], data["bytes"]) == ("application/json", None, 15)
    assert named[-1].json == {"total": 3, "ok": 3, "failed": 0}
    slow_hit = site.times("/slow")[0]
    slow_step_at = next(
        at for at, event in events if event.event == "step" and event.id == named[2].id
    )
    beats = [at for at, event in events if event.is_heartbeat and slow_hit < at < slow_step_at]
    assert len(beats) >= 2, "heartbeats must flow while one page takes 2.5 s"
    assert min(record_gaps(output_dir, site, delay)) >= delay


async def test_scrape_through_the_json_fallback(
    scrape_server: Server, site: Site, output_dir: Path
) -> None:
    delay = 0.3
    urls = [
        f"{site.url}/page/1",
        f"{site.url}/status/404",
        f"{site.url}/to?location=http://127.0.0.2:{site.port}/page/1",
        f"{site.url}/to?location=http://[::1]:{site.port}/page/1",
        f"{site.url}/to?location=http://0.0.0.0:{site.port}/page/1",
        f"{site.url}/page/2",
    ]
    async with httpx.AsyncClient(base_url=scrape_server.url, timeout=30) as client:
        created = await client.post(
            "/api/jobs", json={"kind": "scrape", "params": {"urls": urls, "delay": delay}}
        )
        assert created.status_code == 201
        job = created.json()
        assert job["total"] == len(urls)
        events: list[dict[str, Any]] = []
        cursor = None
        with anyio.fail_after(40):
            while True:
                batch = await client.post(job["steps_url"], json={"cursor": cursor})
                assert batch.status_code == 200
                events += batch.json()["events"]
                cursor = batch.json()["cursor"]
                if batch.json()["done"]:
                    break
    steps = [event["data"] for event in events if event["event"] == "step"]
    assert [step["index"] for step in steps] == list(range(len(urls)))
    assert [step["ok"] for step in steps] == [True, False, False, False, False, True]
    errors = [step["result"]["error"] for step in steps]
    assert errors == [None, "http_status", "blocked", "blocked", "blocked", None]
    assert steps[1]["result"]["status"] == 404
    assert steps[2]["result"]["final_url"] == f"http://127.0.0.2:{site.port}/page/1"
    assert steps[5]["result"]["title"] == "Page 2"
    assert events[-1]["data"] == {"total": 6, "ok": 2, "failed": 4}
    assert not any(path.startswith("/page/1") for path in site.paths()[2:])
    assert min(record_gaps(output_dir, site, delay)) >= delay


async def test_a_resume_on_another_replica_keeps_the_delay(site: Site, output_dir: Path) -> None:
    """Drop the stream after one page and resume at once on another process:
    the time of the last request travels in the cursor, so the site still sees
    at least ``delay`` between two requests."""
    delay = 1.5
    url = "/api/scrape/events?" + "&".join(
        [f"url={site.url}/page/{n}" for n in (1, 2, 3)] + [f"delay={delay}"]
    )
    log = output_dir / "server.log"
    with Server(SCRAPE_ENV, log_path=log) as first, Server(SCRAPE_ENV, log_path=log) as second:
        async with httpx.AsyncClient(timeout=30) as client:
            _, before = await collect(client, first.url + url, stop_after_steps=1)
            cursor = before[-1].id
            assert cursor is not None
            _, after = await collect(client, second.url + url, last_event_id=cursor)
    assert steps_of(before) + steps_of(after) == [0, 1, 2]
    assert after[0].json["resumed"] is True
    paths = site.paths()
    assert paths == ["/robots.txt", "/page/1", "/robots.txt", "/page/2", "/page/3"]
    gaps = record_gaps(output_dir, site, delay)
    assert min(gaps) >= delay
    (output_dir / "cursor.txt").write_text(f"{len(cursor)} {cursor}\n")
    assert len(cursor) <= 160


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"urls": []}, "params.urls"),
        ({"urls": ["ftp://example.org/"]}, "params.urls.0"),
        ({"urls": ["http://127.0.0.2/"]}, "params.urls.0"),
        ({"urls": ["http://[::1]:8000/"]}, "params.urls.0"),
        ({"urls": ["http://localhost./"]}, "params.urls.0"),
        ({"urls": ["https://example.org/"], "delay": 0.05}, "params.delay"),
        ({"urls": ["https://example.org/"], "timeout": 61}, "params.timeout"),
        ({"urls": ["https://example.org/"], "selector": "p["}, "params.selector"),
        ({"urls": ["https://example.org/"], "depth": 2}, "params.depth"),
    ],
)
async def test_invalid_params_are_a_422(
    checking_server: Server, params: dict[str, Any], field: str
) -> None:
    async with httpx.AsyncClient(base_url=checking_server.url, timeout=10) as client:
        response = await client.post("/api/jobs", json={"kind": "scrape", "params": params})
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["error"]["detail"]] == [field]


async def test_a_refused_one_liner_is_a_422_before_the_stream(checking_server: Server) -> None:
    async with httpx.AsyncClient(base_url=checking_server.url, timeout=10) as client:
        response = await client.get(
            "/api/scrape/events", params={"url": "http://0.0.0.0:9/", "delay": "1"}
        )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")


async def test_a_kill_after_the_request_left_never_lets_a_resume_fire_early(
    site: Site, output_dir: Path
) -> None:
    """The step books the host's window in a checkpoint cursor (an ``id:`` alone)
    before its request goes out. Killed while that request is in flight, the job
    resumes on another replica from the checkpoint and waits the window out: the
    site never sees two requests closer than ``delay`` (before, the previous
    cursor let the other replica fire at once)."""
    delay = 2.0
    url = "/api/scrape/events?" + "&".join(
        [
            f"url={site.url}/slow?seconds=3",
            f"url={site.url}/page/2",
            f"delay={delay}",
            "robots=false",
        ]
    )
    log = output_dir / "server.log"
    first = Server(SCRAPE_ENV, log_path=log).start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            last_id = None
            with anyio.fail_after(15):
                async with client.stream("GET", first.url + url) as response:
                    async for event in read_events(response):
                        last_id = event.id or last_id
                        if event.is_checkpoint:
                            while not site.paths():
                                await anyio.sleep(0.01)  # the request reached the site
                            first.kill()
                            break
            with Server(SCRAPE_ENV, log_path=log) as second:
                _, after = await collect(client, second.url + url, last_event_id=last_id)
    finally:
        first.stop()
    assert last_id is not None and steps_of(after) == [0, 1]
    assert site.paths()[:2] == ["/slow?seconds=3", "/slow?seconds=3"]
    gaps = record_gaps(output_dir, site, delay)
    assert min(gaps) >= delay
