"""Idle open streams: N clients hold one stream each on a fresh server.

Measured from the moment the last client has its ``start`` event (the ramp
before it is timed on its own): RSS growth and the objects the collector tracks
per stream, the full collections and their pauses, the server's CPU, heartbeat
lateness (only heartbeats due after every client connected), and the load
generator's own CPU in both phases, to show it is not what limits the figures.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, fields, replace

from bench.load import SSEClient, fetch_sse, open_sse
from bench.scenarios import Plan, percentile
from bench.servers import BenchServer

CONNECTING_AT_ONCE = 256


@dataclass(frozen=True)
class Hold:
    app: str
    streams: int
    failed: int
    connect_seconds: float
    rss_per_stream: float
    tracked_per_stream: float
    full_gc_longest: float
    full_gc_count: int
    forced_gc_seconds: float
    server_cpu: float
    lateness_p50: float
    lateness_p99: float
    heartbeats: int
    load_cpu_connecting: float
    load_cpu_holding: float
    types_per_stream: dict[str, float]


async def hold_streams(plan: Plan, app: str, count: int) -> Hold:
    """``count`` clients hold a stream open on a fresh server for ``plan.hold`` seconds."""
    env = {
        "STEPSTREAM_HEARTBEAT": str(plan.heartbeat),
        "STEPSTREAM_MAX_STREAMS": str(count + 1_000),
        "STEPSTREAM_MAX_STREAMS_PER_CLIENT": str(count + 1_000),  # one load generator
    }
    with BenchServer(app, env) as server:
        await _warm_up(server)
        rss_before = server.rss_bytes()
        before = await server.heap_report()
        load_cpu, began = time.process_time(), time.monotonic()
        clients = await _connect(server, count)
        connected, cpu_connected = time.monotonic(), time.process_time()
        server_cpu_before = server.cpu_seconds()
        await asyncio.sleep(plan.hold)
        ended = time.monotonic()
        server_cpu = (server.cpu_seconds() - server_cpu_before) / (ended - connected)
        load_cpu_holding = (time.process_time() - cpu_connected) / (ended - connected)
        rss_after = server.rss_bytes()
        after = await server.heap_report()
        failed = sum(1 for c in clients if c.finished.done() or c.stats.start_at is None)
        await _hang_up(clients)
    lateness = [
        late
        for client in clients
        for late in client.stats.heartbeat_lateness(plan.heartbeat, connected, ended)
    ]
    full = after.full_pauses(connected, ended)
    return Hold(
        app=app,
        streams=count,
        failed=failed,
        connect_seconds=connected - began,
        rss_per_stream=(rss_after - rss_before) / count,
        tracked_per_stream=(after.tracked - before.tracked) / count,
        full_gc_longest=max(full, default=0.0),
        full_gc_count=len(full),
        forced_gc_seconds=after.collect_seconds,
        server_cpu=server_cpu,
        lateness_p50=percentile(lateness, 0.5),
        lateness_p99=percentile(lateness, 0.99),
        heartbeats=len(lateness),
        load_cpu_connecting=(cpu_connected - load_cpu) / (connected - began),
        load_cpu_holding=load_cpu_holding,
        types_per_stream={
            name: (after.types.get(name, 0) - before.types.get(name, 0)) / count
            for name in after.types.keys() | before.types.keys()
        },
    )


async def _warm_up(server: BenchServer) -> None:
    stats = await fetch_sse(server.port, "/api/sleep/events?steps=2&wait=0", timeout=30)
    if stats.error or stats.done_at is None:
        raise RuntimeError(f"{server.app}: warm-up stream failed: {stats.error}")


async def _connect(server: BenchServer, count: int) -> list[SSEClient]:
    """Opens ``count`` streams whose one step outlasts the hold; returns once all started."""
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

    async def connect(index: int) -> SSEClient:
        async with gate:
            path = f"/api/sleep/events?steps={index + 1}&wait=3600"
            client = await open_sse(server.port, path, until="never")
            await asyncio.wait_for(asyncio.shield(client.started), 60)
            return client

    return await asyncio.gather(*(connect(i) for i in range(count)))


async def _hang_up(clients: list[SSEClient]) -> None:
    """Closes every stream before the server is stopped, so none waits for its grace period."""
    for client in clients:
        client.close()
    await asyncio.wait_for(asyncio.gather(*(client.lost for client in clients)), 60)


def median_hold(holds: list[Hold]) -> Hold:
    """Each figure's median over rounds of the same app and count."""
    numbers = {
        field.name: statistics.median(getattr(hold, field.name) for hold in holds)
        for field in fields(Hold)
        if field.type in ("int", "float")
    }
    names = set().union(*(hold.types_per_stream for hold in holds))
    types = {
        name: statistics.median(hold.types_per_stream.get(name, 0.0) for hold in holds)
        for name in names
    }
    return replace(holds[0], **numbers, types_per_stream=types)
