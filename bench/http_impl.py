"""``python -m bench.http_impl``: uvicorn's httptools against h11, under stepstream.

h11 would cap the size of a request head (httptools takes any size), so this
measures what it costs: server CPU per event and events per second, for one
client reading zero-wait steps and for many short streams at once. The
README's "Security" section quotes it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import ExitStack

from bench.load import fetch_sse, raise_nofile_limit
from bench.scenarios import APP
from bench.servers import BenchServer

IMPLEMENTATIONS = ("httptools", "h11")
ROUNDS = 5
ONE_STREAM_STEPS = 20_000
STREAMS, STREAM_STEPS, STREAM_WAIT = 1_000, 20, 0.02


async def one_stream(server: BenchServer) -> tuple[float, float]:
    """(events per second, server CPU microseconds per event) for one zero-wait job."""
    cpu = server.cpu_seconds()
    stats = await fetch_sse(server.port, f"/api/sleep/events?steps={ONE_STREAM_STEPS}&wait=0")
    if stats.steps != ONE_STREAM_STEPS or stats.done_at is None:
        raise RuntimeError(f"one stream: {stats.error}")
    rate = stats.steps / (stats.done_at - stats.sent_at)
    return rate, (server.cpu_seconds() - cpu) / stats.steps * 1e6


async def many_streams(server: BenchServer) -> tuple[float, float]:
    """(events per second, server CPU microseconds per event) for many short jobs at once."""
    cpu, began = server.cpu_seconds(), time.monotonic()
    gate = asyncio.Semaphore(256)
    path = f"/api/sleep/events?steps={STREAM_STEPS}&wait={STREAM_WAIT}"

    async def stream() -> int:
        async with gate:
            return (await fetch_sse(server.port, path)).steps

    steps = sum(await asyncio.gather(*(stream() for _ in range(STREAMS))))
    if steps != STREAMS * STREAM_STEPS:
        raise RuntimeError(f"many streams: {steps} steps")
    return steps / (time.monotonic() - began), (server.cpu_seconds() - cpu) / steps * 1e6


async def measure() -> dict[str, dict[str, float]]:
    env = {"STEPSTREAM_MAX_STREAMS_PER_CLIENT": str(STREAMS)}  # one load generator
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in IMPLEMENTATIONS}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(BenchServer(APP, env, http=name)) for name in IMPLEMENTATIONS
        }
        for _ in range(ROUNDS):  # interleaved, so both see the same load of the machine
            for name, server in servers.items():
                for label, run in (("one stream", one_stream), ("many streams", many_streams)):
                    rate, cpu = await run(server)
                    figures[name].setdefault(f"{label}, events/s", []).append(rate)
                    figures[name].setdefault(f"{label}, CPU µs/event", []).append(cpu)
    return {
        name: {label: statistics.median(values) for label, values in rows.items()}
        for name, rows in figures.items()
    }


def main() -> None:
    raise_nofile_limit()
    figures = asyncio.run(measure())
    labels = list(figures[IMPLEMENTATIONS[0]])
    print("| measure | " + " | ".join(IMPLEMENTATIONS) + " | h11 / httptools |")
    print("|---|" + "---|" * (len(IMPLEMENTATIONS) + 1))
    for label in labels:
        base, other = (figures[name][label] for name in IMPLEMENTATIONS)
        print(f"| {label} | {base:,.1f} | {other:,.1f} | {other / base:.2f} |")


if __name__ == "__main__":
    main()
