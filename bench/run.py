"""``python -m bench.run [--quick]``: every measure in one run, in two tables.

First stepstream against a bare sse-starlette app and two floors, a raw ASGI
app with and without an HMAC per event (bench.floors: throughput and open
streams); then stepstream against its own alternatives (a resumed start, the
old request-per-step method, cursor sizes), and the types the collector tracks
per stream. It starts every server it measures on loopback and stops it again.
``--quick`` is a tiny smoke run (seconds, not minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bench import scenarios, scrape_cpu
from bench.cursors import scrape_cursor_bytes, sleep_cursor_bytes
from bench.floors import HEADER as FLOORS_HEADER
from bench.floors import TYPES_HEADER, Floors, measure_floors, type_rows
from bench.load import raise_nofile_limit
from bench.scenarios import APP, BARE, FULL, QUICK, Plan, percentile
from bench.servers import BenchServer
from bench.table import ms, ratio, render, verdict

Row = tuple[str, str, str, str, str]
HEADER: Row = ("measure", "stepstream", "baseline", "ratio", "target")


async def measure(plan: Plan) -> list[Row]:
    env = {
        "STEPSTREAM_HEARTBEAT": str(plan.heartbeat),
        "STEPSTREAM_STEP_BUDGET": str(plan.old_budget),
        "STEPSTREAM_MAX_STREAMS": "20000",
        "STEPSTREAM_MAX_STREAMS_PER_CLIENT": "20000",
    }
    one_step = {**env, "STEPSTREAM_STEP_BUDGET": "0.001"}
    rows: list[Row] = []
    with BenchServer(APP, env) as ours, BenchServer(BARE, env) as bare:
        with BenchServer(APP, one_step) as per_step:
            resumed, fresh = await scenarios.resume_cost(plan, ours)
            pace, bare_pace = await scenarios.pacing(plan, ours, bare)
            stream, batched, old = await scenarios.old_method(plan, ours, per_step)
    r50, r99, f50, f99 = (percentile(v, q) for v in (resumed, fresh) for q in (0.5, 0.99))
    rows += [
        (
            f"resume: ms to `start`, p50 / p99, {plan.resumes:,} each (vs a fresh start)",
            f"{ms(r50)} / {ms(r99)}",
            f"{ms(f50)} / {ms(f99)}",
            f"{ratio(r50, f50)} / {ratio(r99, f99)}",
            "-",
        ),
        (
            f"pacing: wall / ideal, {plan.pace_steps} steps × {plan.pace_wait} s (vs bare)",
            f"{pace:.4f}",
            f"{bare_pace:.4f}",
            ratio(pace, bare_pace),
            verdict(pace <= 1.02, "≤ 1.02", f"by {pace - 1.02:.3f}"),
        ),
    ]
    job = f"{plan.old_steps} × {plan.old_wait} s job"
    for label, base in (("one step per request", old), (f"{plan.old_budget} s batches", batched)):
        rows += [
            (
                f"{job}, requests: stream (vs JSON steps, {label})",
                f"{stream.requests:.0f}",
                f"{base.requests:.0f}",
                ratio(stream.requests, base.requests),
                "-",
            ),
            (
                f"{job}, bytes on the wire: stream (vs JSON steps, {label})",
                f"{stream.bytes:,.0f}",
                f"{base.bytes:,.0f}",
                ratio(stream.bytes, base.bytes),
                "-",
            ),
            (
                f"{job}, wall s: stream (vs JSON steps, {label})",
                f"{stream.seconds:.2f}",
                f"{base.seconds:.2f}",
                ratio(stream.seconds, base.seconds),
                "-",
            ),
        ]
    for server, label in (("HTTP/1.1", "kept alive"), ("HTTP/1.0", "one a page")):
        scrape, parse_only = await scrape_cpu.cpu_per_page(plan.scrape_pages, plan.rounds, server)
        rows.append(
            (
                f"scrape: CPU ms per page, {plan.scrape_pages} pages of 150 links, "
                f"connections {label} (vs httpx + resiliparse alone)",
                ms(scrape),
                ms(parse_only),
                ratio(scrape, parse_only),
                verdict(scrape <= 1.5 * parse_only, "≤ 1.5", f"by {scrape / parse_only - 1.5:.2f}"),
            )
        )
    sleep_bytes = max(sleep_cursor_bytes(), stream.longest_id)
    rows += [
        (
            "cursor bytes, sleep job (longest possible; longest seen on the wire)",
            f"{sleep_bytes} ({stream.longest_id})",
            "-",
            "-",
            verdict(sleep_bytes <= 128, "≤ 128", f"by {sleep_bytes - 128} bytes"),
        ),
        (
            "cursor bytes, scrape 500 URLs on 50 hosts (state: last request time per host)",
            f"{scrape_cursor_bytes()}",
            "-",
            "-",
            "small",
        ),
    ]
    return rows


async def measure_all(plan: Plan) -> tuple[Floors, list[Row]]:
    floors = await measure_floors(plan)
    return floors, await measure(plan)


def report(floors: Floors, rows: list[Row]) -> str:
    largest = max(floors.holds)
    return "\n\n".join(
        [
            render(FLOORS_HEADER, floors.rows),
            render(HEADER, rows),
            f"At {largest:,} streams:\n\n" + render(TYPES_HEADER, type_rows(floors.holds[largest])),
        ]
    )


def _run(coroutine: Coroutine[Any, Any, tuple[Floors, list[Row]]]) -> tuple[Floors, list[Row]]:
    """On uvloop when it is there, as uvicorn runs: the load generator stays light."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    plan = QUICK if args.quick else FULL
    began = time.monotonic()
    floors, rows = _run(asyncio.wait_for(measure_all(plan), 3600))
    print(report(floors, rows))
    print(f"\n{plan.rounds} round(s), medians; took {time.monotonic() - began:.0f} s.")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
