"""The HAProxy, Caddy, Apache httpd and Varnish configs shipped in deploy/, each
run for real in front of two real uvicorn replicas: the config itself, the idle
limit and the heartbeat, events passing as they are sent, and a replica
SIGKILLed mid-stream. Modelled on tests/test_nginx.py and
tests/test_nginx_failover.py, whose measuring and following helpers they use."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import pytest

from tests.proxies import PROXIES, Caddy, HAProxy, Proxy, Varnish
from tests.servers import Server
from tests.test_nginx import arrivals, delays, held_back, read_through
from tests.test_nginx_failover import killed_mid_stream, metric

pytestmark = pytest.mark.proxy

proxies = pytest.mark.parametrize("kind", PROXIES, ids=[p.name for p in PROXIES])


def address(server: Server) -> str:
    return f"{server.host}:{server.port}"


@proxies
def test_shipped_config_passes_the_proxys_own_check(kind: type[Proxy], output_dir: Path) -> None:
    proxy = kind(["127.0.0.1:8001", "127.0.0.1:8002"], output_dir)
    result = proxy.check()
    assert result.returncode == 0, result.stdout + result.stderr


@proxies
@pytest.mark.anyio
@pytest.mark.parametrize("heartbeat", [1, 10])
async def test_heartbeat_keeps_a_silent_step_under_the_idle_limit(
    kind: type[Proxy], output_dir: Path, heartbeat: int
) -> None:
    """An idle limit of 3 s, steps of 5 s: a 1 s heartbeat carries the stream
    through; a 10 s one (the negative control) lets the proxy cut it. Behind
    Varnish the stream also outlives a 4 s ``send_timeout``: the VCL lifts it."""
    env = {"STEPSTREAM_HEARTBEAT": str(heartbeat)}
    with Server(env, log_path=output_dir / "replica.log") as server:
        with kind([address(server)] * 2, output_dir, idle_limit=3) as proxy:
            job = "/api/sleep/events?steps=2&wait=5"
            events, took, error = await read_through(f"{proxy.url}{job}")
    names = [e.event for e in events if not e.is_heartbeat]
    if heartbeat == 1:
        assert error is None and names == ["start", "step", "step", "done"], (names, error)
        assert sum(e.is_heartbeat for e in events) >= 6
    else:
        assert names == ["start"], f"{kind.name} did not cut a silent stream: {names}"
        assert took < 5, f"cut after {took:.1f}s, expected about 3s"


LATENCY_CASES = [pytest.param(kind, {}, id=kind.name) for kind in PROXIES] + [
    pytest.param(HAProxy, {"    option http-no-delay\n": ""}, id="haproxy-without-http-no-delay")
]


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "changes"), LATENCY_CASES)
async def test_events_pass_the_proxy_as_they_are_sent(
    kind: type[Proxy], changes: dict[str, str], server: Server, output_dir: Path
) -> None:
    """Each event through the proxy within a fraction of a second of the same
    event read directly, counted from each stream's own ``start`` (as for
    nginx), and all of them about equally late: HAProxy without ``option
    http-no-delay`` (the negative control) holds each lone event back about
    0.2 s, but not the last step, which ``done`` follows at once, so the
    delays spread. The figures go to latency.json."""
    job = "/api/sleep/events?steps=4&wait=0.5"
    with kind([address(server)] * 2, output_dir, changes=changes) as proxy:
        direct = await arrivals(server.url + job)
        proxied = await arrivals(proxy.url + job)
    assert [name for name, _ in proxied] == [name for name, _ in direct]
    arrival_delays = [via - at for (_, via), (_, at) in zip(proxied, direct, strict=True)]
    problems = held_back(direct, proxied)
    spread = max(delays(direct, proxied)) - min(delays(direct, proxied))
    if spread > 0.12:
        problems.append(f"delays spread over {spread:.3f}s")
    figures = {
        "proxy": kind.name,
        "changes": changes,
        "direct": direct,
        "proxied": proxied,
        "delay_ms": [round(d * 1000, 1) for d in delays(direct, proxied)],
        "arrival_delay_ms": [round(d * 1000, 1) for d in arrival_delays],
        "held_back": problems,
    }
    (output_dir / "latency.json").write_text(json.dumps(figures, indent=2))
    if changes:
        assert problems, f"{kind.name} with {changes} held nothing back: {figures}"
    else:
        assert not problems, f"events held back by {kind.name}: {figures}"


async def statuses_right_after(client: httpx.AsyncClient) -> list[int]:
    """Ten requests in a row: enough that a balancer, even one that breaks ties
    at random (Caddy's least_conn), sends some of them to a dead replica."""
    return [(await client.get("/healthz")).status_code for _ in range(10)]


@proxies
@pytest.mark.anyio
async def test_sigkilled_replica_resumes_through_the_proxy(
    kind: type[Proxy], replicas: list[Server], output_dir: Path
) -> None:
    """The client reconnects through the proxy at once (0.2 s), before any
    health check can have noticed the dead replica, and gets every step exactly
    once. Which replica the proxy picks for the reconnect is its balancer's
    choice, so more requests right after the kill make sure some were sent to
    the dead replica: the proxy must retry them on the survivor (a 502 or 503
    there would stop a browser's EventSource for good)."""
    with kind([address(r) for r in replicas], output_dir) as proxy:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
            async with killed_mid_stream(client, replicas) as (follower, victim):
                after_kill = await statuses_right_after(client)
    survivor = next(r for r in replicas if r is not victim)
    assert after_kill == [200] * len(after_kill)
    assert follower.steps == list(range(12))
    assert follower.connections == 2
    assert follower.starts[1]["resumed"] and follower.starts[1]["next"] >= 3
    assert metric(survivor, "stepstream_resumes_total") == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("budget", "status"), [(10, 503), (2, 200)])
async def test_fallback_batch_must_fit_under_the_first_byte_timeout(
    output_dir: Path, budget: int, status: int
) -> None:
    """What no heartbeat fixes: a JSON fallback batch answers only after its
    steps ran. Behind Varnish with a 4 s first-byte timeout, the default 10 s
    ``STEPSTREAM_STEP_BUDGET`` gets 503; a 2 s budget (plus a 1 s step) fits."""
    env = {"STEPSTREAM_STEP_BUDGET": str(budget)}
    first_byte_4s = {".first_byte_timeout = 60s;": ".first_byte_timeout = 4s;"}
    with Server(env, log_path=output_dir / "replica.log") as server:
        with Varnish([address(server)] * 2, output_dir, changes=first_byte_4s) as proxy:
            async with httpx.AsyncClient(base_url=proxy.url, timeout=30) as client:
                spec = {"kind": "sleep", "params": {"steps": 20, "wait": 1}}
                steps_url = (await client.post("/api/jobs", json=spec)).json()["steps_url"]
                batch = await client.post(steps_url, json={})
    assert batch.status_code == status, batch.text
    if status == 200:
        assert 1 <= len(batch.json()["events"]) <= 3


WITHOUT_FAILOVER = [
    pytest.param(
        HAProxy,
        {
            "    option httpchk GET /healthz\n": "",
            "    option redispatch 1\n": "",
            "    retries 2\n": "",
            " check inter 1s fall 1 rise 1": "",
        },
        id="haproxy",
    ),
    pytest.param(
        Caddy,
        {
            "\t\tlb_try_duration 5s\n": "",
            "\t\tlb_try_interval 250ms\n": "",
            "\t\tfail_duration 3s\n": "",
        },
        id="caddy",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "changes"), WITHOUT_FAILOVER)
async def test_without_its_failover_directives_the_proxy_answers_errors_after_a_crash(
    kind: type[Proxy], changes: dict[str, str], replicas: list[Server], output_dir: Path
) -> None:
    """The negative control of the failover test: with the directives that
    docs/deploy.md says HAProxy and Caddy need taken out, requests sent to the
    dead replica right after a crash get 503 (HAProxy) or 502 (Caddy)."""
    with kind([address(r) for r in replicas], output_dir, changes=changes) as proxy:
        async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as client:
            await anyio.to_thread.run_sync(replicas[0].kill)
            after_kill = await statuses_right_after(client)
    assert set(after_kill) - {200} <= {502, 503} and set(after_kill) != {200}, after_kill
