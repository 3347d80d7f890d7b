"""The shipped nginx.conf, run by a real nginx in front of a real uvicorn: the
config itself, the idle limit and the heartbeat, and no buffering."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.nginx import Nginx, upstream
from tests.servers import Server
from tests.sse import RawEvent, read_events

pytestmark = pytest.mark.nginx

IDLE_LIMIT_3S = {"proxy_read_timeout 60s;": "proxy_read_timeout 3s;"}
# The negative control of the no-buffering test: a stream location that buffers
# (overriding the app's X-Accel-Buffering: no) and compresses holds events back.
BUFFERING_STREAMS = {
    "proxy_buffering off;": "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;",
    "gzip off;": "gzip on; gzip_types text/event-stream;",
}


# -- the config itself -------------------------------------------------------------------------


def test_shipped_config_passes_nginx_t(output_dir: Path) -> None:
    nginx = Nginx(["127.0.0.1:8001", "127.0.0.1:8002"], output_dir)
    result = nginx.check()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_static_files_come_from_nginx(output_dir: Path) -> None:
    """No replica runs at all: the page is served from disk."""
    with Nginx(["127.0.0.1:1", "127.0.0.1:2"], output_dir) as nginx:
        page = httpx.get(f"{nginx.url}/", timeout=5)
        api = httpx.get(f"{nginx.url}/healthz", timeout=15)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert api.status_code == 502


# -- idle limit --------------------------------------------------------------------------------


async def read_through(url: str) -> tuple[list[RawEvent], float, Exception | None]:
    """Every block of the stream, how long it lasted, and how it ended."""
    events: list[RawEvent] = []
    started = time.monotonic()
    error: Exception | None = None
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            async with client.stream("GET", url) as response:
                assert response.status_code == 200
                async for event in read_events(response):
                    events.append(event)
        except httpx.RemoteProtocolError as exc:
            error = exc
    return events, time.monotonic() - started, error


@pytest.mark.anyio
@pytest.mark.parametrize("heartbeat", [1, 10])
async def test_heartbeat_keeps_a_silent_step_under_the_idle_limit(
    output_dir: Path, heartbeat: int
) -> None:
    """proxy_read_timeout 3 s, steps of 8 s: a 1 s heartbeat carries the stream
    through; a 10 s one (the negative control) lets nginx cut it."""
    env = {"STEPSTREAM_HEARTBEAT": str(heartbeat)}
    with (
        Server(env, log_path=output_dir / "replica.log") as server,
        Nginx([upstream(server)], output_dir, IDLE_LIMIT_3S) as nginx,
    ):
        events, took, error = await read_through(f"{nginx.url}/api/sleep/events?steps=2&wait=8")
    names = [e.event for e in events if not e.is_heartbeat]
    error_log = (nginx.directory / "error.log").read_text()
    if heartbeat == 1:
        assert error is None and names == ["start", "step", "step", "done"]
        assert sum(e.is_heartbeat for e in events) >= 8
        assert "upstream timed out" not in error_log
    else:
        assert names == ["start"] and error is not None, "nginx did not cut a silent stream"
        assert took < 8, f"cut after {took:.1f}s, expected about 3s"
        assert "upstream timed out" in error_log


# -- no buffering ------------------------------------------------------------------------------


async def arrivals(url: str) -> list[tuple[str, float]]:
    """Each event's name and arrival time, in seconds from the request."""
    started = time.monotonic()
    seen: list[tuple[str, float]] = []
    async with httpx.AsyncClient(timeout=10) as client, client.stream("GET", url) as response:
        async for event in read_events(response):
            if not event.is_heartbeat:
                seen.append((event.event, time.monotonic() - started))
    return seen


def delays(direct: list[tuple[str, float]], proxied: list[tuple[str, float]]) -> list[float]:
    """How much later each event came through nginx than directly, counted from each
    stream's own ``start`` so that connection setup does not count."""
    return [
        (via - proxied[0][1]) - (at - direct[0][1])
        for (_, via), (_, at) in zip(proxied[1:], direct[1:], strict=True)
    ]


def held_back(direct: list[tuple[str, float]], proxied: list[tuple[str, float]]) -> list[str]:
    """What nginx delayed, comparing arrival times with those of the same job read directly."""
    problems = []
    if proxied[0][1] > 0.5:
        problems.append(f"start came after {proxied[0][1]:.3f}s")
    for (name, _), delay in zip(proxied[1:], delays(direct, proxied), strict=True):
        if abs(delay) > 0.4:
            problems.append(f"{name} {delay:+.3f}s")
    if proxied[1][1] > proxied[-1][1] - 1.0:
        problems.append("the first step came with the last")
    return problems


@pytest.mark.anyio
@pytest.mark.parametrize("config", ["shipped", "buffering_streams"])
async def test_events_pass_nginx_as_they_are_sent(
    server: Server, output_dir: Path, config: str
) -> None:
    """Each event through nginx within a fraction of a second of the same event
    read directly; with a buffering, compressing stream location (the negative
    control), not so."""
    job = "/api/sleep/events?steps=4&wait=0.5"
    changes = BUFFERING_STREAMS if config == "buffering_streams" else {}
    with Nginx([upstream(server), upstream(server)], output_dir, changes) as nginx:
        direct = await arrivals(server.url + job)
        proxied = await arrivals(nginx.url + job)
    assert [name for name, _ in proxied] == [name for name, _ in direct]
    problems = held_back(direct, proxied)
    figures = {
        "direct": direct,
        "via_nginx": proxied,
        "delay_ms": [round(d * 1000, 1) for d in delays(direct, proxied)],
        "held_back": problems,
    }
    (output_dir / "latency.json").write_text(json.dumps(figures, indent=2))
    if config == "shipped":
        assert not problems, f"events held back by nginx: {figures}"
    else:
        assert problems, f"a buffering nginx held nothing back: {figures}"
