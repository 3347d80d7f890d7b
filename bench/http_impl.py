"""``python -m bench.http_impl``: uvicorn's httptools against h11, under stepstream.

h11 would cap the size of a request head (httptools takes any size), so this
measures what it costs: server CPU per event and events per second, for one
client reading zero-wait steps and for many short streams at once. The
README's "Security" section quotes it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.load import fetch_sse, raise_nofile_limit
from bench.servers import BENCH_SECRET, ROOT, free_port

IMPLEMENTATIONS = ("httptools", "h11")
ROUNDS = 5
ONE_STREAM_STEPS = 20_000
STREAMS, STREAM_STEPS, STREAM_WAIT = 1_000, 20, 0.02


class Uvicorn:
    """``uvicorn app.main:app --http IMPLEMENTATION`` on a free loopback port."""

    def __init__(self, implementation: str) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(self.port)]
        command += ["--http", implementation, "--log-level", "warning", "--no-access-log"]
        command += ["--backlog", "4096"]
        env = {**os.environ, "STEPSTREAM_SECRET_KEY": BENCH_SECRET}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn --http {implementation} did not start")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


async def one_stream(server: Uvicorn) -> tuple[float, float]:
    """(events per second, server CPU microseconds per event) for one zero-wait job."""
    cpu = server.cpu_seconds()
    stats = await fetch_sse(server.port, f"/api/sleep/events?steps={ONE_STREAM_STEPS}&wait=0")
    if stats.steps != ONE_STREAM_STEPS or stats.done_at is None:
        raise RuntimeError(f"one stream: {stats.error}")
    rate = stats.steps / (stats.done_at - stats.sent_at)
    return rate, (server.cpu_seconds() - cpu) / stats.steps * 1e6


async def many_streams(server: Uvicorn) -> tuple[float, float]:
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
    servers = {name: Uvicorn(name) for name in IMPLEMENTATIONS}
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in servers}
    try:
        for _ in range(ROUNDS):  # interleaved, so both see the same load of the machine
            for name, server in servers.items():
                for label, run in (("one stream", one_stream), ("many streams", many_streams)):
                    rate, cpu = await run(server)
                    figures[name].setdefault(f"{label}, events/s", []).append(rate)
                    figures[name].setdefault(f"{label}, CPU µs/event", []).append(cpu)
    finally:
        for server in servers.values():
            server.stop()
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
