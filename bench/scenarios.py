"""The measures but open streams (those are bench.hold); each takes running servers.

Every figure is a median over ``plan.rounds`` rounds in which stepstream and
its baseline run back to back (or side by side), so a ratio compares two
figures taken under the same load of this shared machine.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.tokens import Cursor, TokenCodec
from bench.load import fetch_sse, http_request
from bench.servers import BENCH_SECRET, BenchServer


@dataclass(frozen=True)
class Plan:
    rounds: int
    throughput_steps: int
    stream_levels: tuple[int, ...]
    heartbeat: float
    hold: float
    resumes: int
    pace_steps: int
    pace_wait: float
    old_steps: int
    old_wait: float
    old_budget: float
    scrape_pages: int = 200


FULL = Plan(3, 100_000, (1_000, 5_000, 10_000), 5.0, 11.0, 1_000, 40, 0.25, 100, 0.05, 1.0)
QUICK = Plan(1, 2_000, (20,), 0.5, 1.2, 20, 4, 0.05, 5, 0.01, 0.02, scrape_pages=10)

APP = "app.main:app"
BARE = "bench.bare:app"
RAW = "bench.raw:app"
SIGNED = "bench.raw:signed_app"
FLOORS = (APP, BARE, RAW, SIGNED)
"""Stepstream, bare sse-starlette, and the floors: raw ASGI, raw ASGI with an HMAC per event."""


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def throughput(plan: Plan, servers: Sequence[BenchServer]) -> list[float]:
    """Events per second, one client reading a job of zero-wait steps, each server in turn
    in every round: the median for each server, in order."""
    path = f"/api/sleep/events?steps={plan.throughput_steps}&wait=0"
    rates: list[list[float]] = [[] for _ in servers]
    for _ in range(plan.rounds):
        for server, into in zip(servers, rates, strict=True):
            stats = await fetch_sse(server.port, path)
            if stats.error or stats.steps != plan.throughput_steps or stats.done_at is None:
                raise RuntimeError(f"{server.app}: {stats.error}, {stats.steps} steps")
            into.append(stats.steps / (stats.done_at - stats.sent_at))
    return [statistics.median(server_rates) for server_rates in rates]


async def _job(port: int, steps: int, wait: float) -> tuple[str, str]:
    """A job made with POST /api/jobs: (its token, its id)."""
    body = json.dumps({"kind": "sleep", "params": {"steps": steps, "wait": wait}}).encode()
    answer = json.loads((await http_request(port, "POST", "/api/jobs", body)).body)
    shown = json.loads((await http_request(port, "GET", f"/api/jobs/{answer['job']}")).body)
    return answer["job"], shown["id"]


async def resume_cost(plan: Plan, ours: BenchServer) -> tuple[list[float], list[float]]:
    """Seconds to the ``start`` event: (with a cursor, fresh), interleaved one by one.

    The cursor is minted with the shared secret, as another replica would hold it.
    """
    token, job_id = await _job(ours.port, 100, 60.0)
    cursor = TokenCodec([BENCH_SECRET], 3600).dump_cursor(Cursor(job_id, 50))
    path = f"/api/jobs/{token}/events"
    resumed: list[float] = []
    fresh: list[float] = []
    for _ in range(plan.resumes):
        for headers, into in (({"Last-Event-ID": cursor}, resumed), ({}, fresh)):
            stats = await fetch_sse(ours.port, path, until="start", headers=headers)
            if stats.error or stats.start_at is None:
                raise RuntimeError(f"resume: {stats.error}")
            into.append(stats.start_at - stats.sent_at)
    return resumed, fresh


async def pacing(plan: Plan, ours: BenchServer, bare: BenchServer) -> tuple[float, float]:
    """Wall time over ideal for a paced job, both servers side by side: (ours, bare)."""
    path = f"/api/sleep/events?steps={plan.pace_steps}&wait={plan.pace_wait}"
    ideal = plan.pace_steps * plan.pace_wait
    ratios: dict[int, list[float]] = {ours.port: [], bare.port: []}
    for _ in range(plan.rounds):
        both = await asyncio.gather(fetch_sse(ours.port, path), fetch_sse(bare.port, path))
        for server, stats in zip((ours, bare), both, strict=True):
            if stats.done_at is None:
                raise RuntimeError(f"pacing: {stats.error}")
            ratios[server.port].append((stats.done_at - stats.sent_at) / ideal)
    return statistics.median(ratios[ours.port]), statistics.median(ratios[bare.port])


@dataclass
class Transfer:
    requests: float
    bytes: float
    seconds: float
    longest_id: int = 0


async def by_stream(port: int, token: str) -> Transfer:
    stats = await fetch_sse(port, f"/api/jobs/{token}/events", keep_body=True)
    if stats.done_at is None:
        raise RuntimeError(f"stream: {stats.error}")
    longest = max(len(event_id) for event_id in stats.ids())
    return Transfer(1, stats.sent + stats.received, stats.done_at - stats.sent_at, longest)


async def by_steps(port: int, token: str) -> Transfer:
    """The JSON fallback in a loop, one connection per request like the old page-per-step."""
    began = time.monotonic()
    cursor: str | None = None
    requests = wire = 0
    done = False
    while not done:
        body = json.dumps({"cursor": cursor}).encode()
        exchange = await http_request(port, "POST", f"/api/jobs/{token}/steps", body)
        if exchange.status != 200:
            raise RuntimeError(f"steps: {exchange.status} {exchange.body[:200]!r}")
        answer = json.loads(exchange.body)
        cursor, done = answer["cursor"], answer["done"]
        requests += 1
        wire += exchange.sent + exchange.received
    return Transfer(requests, wire, time.monotonic() - began)


async def old_method(
    plan: Plan, ours: BenchServer, per_step: BenchServer
) -> tuple[Transfer, Transfer, Transfer]:
    """The same job as one stream, as batches, as one request per step (medians)."""
    token, _ = await _job(ours.port, plan.old_steps, plan.old_wait)
    runs: list[tuple[Transfer, Transfer, Transfer]] = []
    for _ in range(plan.rounds):
        runs.append(
            (
                await by_stream(ours.port, token),
                await by_steps(ours.port, token),
                await by_steps(per_step.port, token),
            )
        )
    return tuple(_median_transfer([run[i] for run in runs]) for i in range(3))  # type: ignore[return-value]


def _median_transfer(transfers: list[Transfer]) -> Transfer:
    return Transfer(
        statistics.median(t.requests for t in transfers),
        statistics.median(t.bytes for t in transfers),
        statistics.median(t.seconds for t in transfers),
        max(t.longest_id for t in transfers),
    )
