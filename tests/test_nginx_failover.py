"""Several replicas behind the shipped nginx.conf: a replica killed mid-stream or
mid-batch, Chromium's EventSource failing over, and a rolling restart."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpx_sse import aconnect_sse
from playwright.sync_api import sync_playwright

from tests.nginx import Nginx, upstream
from tests.servers import Server

pytestmark = pytest.mark.nginx

NO_POST_RETRY = {
    "proxy_next_upstream error timeout http_503 non_idempotent;": (
        "proxy_next_upstream error timeout http_503;"
    )
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def metric(server: Server, sample: str) -> float:
    """One sample, labels included, from the replica's own /metrics (asked directly,
    not via nginx); 0 for a labelled sample not observed yet."""
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, flags=re.M)
    assert found or "{" in sample, f"{sample} not in /metrics"
    return float(found[1]) if found else 0.0


def serving(replicas: list[Server]) -> Server:
    """The replica that has the one open stream."""
    busy = [r for r in replicas if metric(r, "stepstream_open_streams") > 0]
    assert len(busy) == 1, "expected exactly one replica serving the stream"
    return busy[0]


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Await ``condition`` without blocking the event loop the clients run on."""
    try:
        with anyio.fail_after(timeout):
            while not condition():
                await anyio.sleep(0.05)
    except TimeoutError:
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None


@dataclass
class Follower:
    """A client that resumes as EventSource does: reconnect, send the newest id."""

    steps: list[int] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    done: bool = False

    async def follow(self, client: httpx.AsyncClient, url: str, timeout: float = 60) -> None:
        last_id = ""
        with anyio.fail_after(timeout):
            while not self.done:
                self.connections += 1
                headers = {"Last-Event-ID": last_id} if last_id else {}
                try:
                    async with aconnect_sse(client, "GET", url, headers=headers) as source:
                        async for event in source.aiter_sse():
                            last_id = event.id or last_id
                            if event.event == "start":
                                self.starts.append(event.json())
                            elif event.event == "step":
                                self.steps.append(event.json()["index"])
                            elif event.event == "done":
                                self.done = True
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    pass  # the replica died mid-stream: reconnect, as EventSource does
                if not self.done:
                    await anyio.sleep(0.2)  # EventSource's retry delay, shortened


@asynccontextmanager
async def killed_mid_stream(
    client: httpx.AsyncClient, replicas: list[Server]
) -> AsyncIterator[tuple[Follower, Server]]:
    """A follower on a 12-step job through ``client``, and the replica serving it
    SIGKILLed after three steps; the block runs while the follower resumes, and
    the follower has finished when it ends."""
    follower = Follower()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(follower.follow, client, "/api/sleep/events?steps=12&wait=0.3")
        await until(lambda: len(follower.steps) >= 3, 20, "three steps")
        victim = await anyio.to_thread.run_sync(serving, replicas)
        await anyio.to_thread.run_sync(victim.kill)
        yield follower, victim


# -- failover ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_sigkilled_replica_resumes_on_the_other(
    replicas: list[Server], output_dir: Path
) -> None:
    with Nginx([upstream(r) for r in replicas], output_dir) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10) as client:
            async with killed_mid_stream(client, replicas) as (follower, victim):
                pass
    survivor = next(r for r in replicas if r is not victim)
    assert follower.steps == list(range(12))
    assert follower.connections == 2
    assert follower.starts[1]["resumed"] and follower.starts[1]["next"] >= 3
    assert metric(survivor, "stepstream_resumes_total") == 1
    assert nginx.logged()[-1][1].endswith(upstream(survivor))


SLEEP_STEPS_DONE = 'stepstream_step_duration_seconds_count{kind="sleep"}'


@pytest.mark.anyio
@pytest.mark.parametrize("config", ["shipped", "without_non_idempotent"])
async def test_steps_batch_is_retried_on_the_other_replica(
    replicas: list[Server], output_dir: Path, config: str
) -> None:
    """``non_idempotent``: a POST .../steps batch whose replica dies after the request
    was sent runs again, from the same cursor, on the other replica. Without it
    (the negative control) nginx answers 502."""
    answers: list[httpx.Response] = []
    changes = NO_POST_RETRY if config == "without_non_idempotent" else {}
    with Nginx([upstream(r) for r in replicas], output_dir, changes) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=30) as client:
            spec = {"kind": "sleep", "params": {"steps": 3, "wait": 1}}
            steps_url = (await client.post("/api/jobs", json=spec)).json()["steps_url"]

            async def post() -> None:
                answers.append(await client.post(steps_url, json={}))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(post)
                await until(
                    lambda: any(metric(r, SLEEP_STEPS_DONE) for r in replicas), 20, "a step"
                )
                victim = next(r for r in replicas if metric(r, SLEEP_STEPS_DONE))
                await anyio.to_thread.run_sync(victim.kill)
    if changes:
        assert answers[0].status_code == 502
        return
    survivor = next(r for r in replicas if r is not victim)
    batch = answers[0].json()
    assert answers[0].status_code == 200, batch
    assert [e["data"]["index"] for e in batch["events"] if e["event"] == "step"] == [0, 1, 2]
    assert batch["done"] is True
    assert nginx.logged()[-1][1] == f"{upstream(victim)}, {upstream(survivor)}"
    assert metric(survivor, SLEEP_STEPS_DONE) == 3


EVENT_SOURCE = """(url) => {
    window.steps = []; window.starts = []; window.errors = 0; window.finished = false;
    const source = new EventSource(url);
    source.addEventListener("start", (e) => window.starts.push(JSON.parse(e.data)));
    source.addEventListener("step", (e) => window.steps.push(JSON.parse(e.data).index));
    source.addEventListener("done", () => { window.finished = true; source.close(); });
    source.onerror = () => { window.errors += 1; };
}"""


@pytest.mark.browser
def test_chromium_eventsource_fails_over(replicas: list[Server], output_dir: Path) -> None:
    with Nginx([upstream(r) for r in replicas], output_dir) as nginx, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{nginx.url}/healthz")  # same origin, no page script of ours running
            page.evaluate(EVENT_SOURCE, "/api/sleep/events?steps=12&wait=0.3")
            page.wait_for_function("window.steps.length >= 3", timeout=20_000)
            victim = serving(replicas)
            victim.kill()
            page.wait_for_function("window.finished", timeout=30_000)
            steps, starts, errors = page.evaluate("[window.steps, window.starts, window.errors]")
        finally:
            browser.close()
    assert steps == list(range(12))
    assert errors == 1 and len(starts) == 2
    assert starts[1]["resumed"] and starts[1]["next"] >= 3
    survivor = next(r for r in replicas if r is not victim)
    assert metric(survivor, "stepstream_resumes_total") == 1


# -- rolling restart ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_rolling_restart_loses_no_step(replicas: list[Server], output_dir: Path) -> None:
    """SIGTERM each replica in turn, restarting it (and waiting until nginx
    routes to it again) before the next, as a deploy does."""
    followers = [Follower() for _ in range(4)]
    totals = [48 + n for n in range(4)]
    started = time.monotonic()
    exits: list[float] = []
    sigterms: list[float] = []
    with Nginx([upstream(r) for r in replicas], output_dir) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10) as client:

            async def routed_to(replica: Server) -> bool:
                """Whether nginx sent the next /healthz to ``replica``, by the access log."""
                seen = len(nginx.logged())

                def healthz() -> list[str]:
                    return [up for line, up in nginx.logged()[seen:] if line == "GET /healthz"]

                await client.get("/healthz")
                await until(lambda: bool(healthz()), 5, "/healthz in the access log")
                return healthz()[0] == upstream(replica)

            async with anyio.create_task_group() as tasks:
                for follower, total in zip(followers, totals, strict=True):
                    url = f"/api/sleep/events?steps={total}&wait=0.25"
                    tasks.start_soon(follower.follow, client, url)
                await until(lambda: all(f.steps for f in followers), 20, "every stream")
                by_load = sorted(replicas, key=lambda r: -metric(r, "stepstream_open_streams"))
                for replica in by_load:
                    assert metric(replica, "stepstream_open_streams") >= 1
                    sigterms.append(time.monotonic() - started)
                    exits.append(await anyio.to_thread.run_sync(replica.terminate))
                    await anyio.to_thread.run_sync(replica.start)
                    with anyio.fail_after(15):
                        while not await routed_to(replica):
                            await anyio.sleep(0.2)
    figures = {"sigterm_at": sigterms, "exit_took": exits, "ended_at": time.monotonic() - started}
    (output_dir / "rolling.json").write_text(json.dumps(figures, indent=2))
    for follower, total in zip(followers, totals, strict=True):
        assert follower.steps == list(range(total))
        assert follower.connections >= 2
    assert max(exits) < 8, f"SIGTERM exits took {exits}"
