"""``python -m bench.run [--quick]``: every measure in one run, one table.

Starts the servers it compares on loopback (stepstream, a bare sse-starlette
app, and stepstream with a one-step budget for the old request-per-step
method), runs the measures in bench.scenarios, stops everything, and prints a
Markdown table. ``--quick`` is a tiny smoke run (seconds, not minutes).
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
from bench.load import raise_nofile_limit
from bench.scenarios import APP, BARE, FULL, QUICK, Plan, percentile
from bench.servers import BenchServer

Row = tuple[str, str, str, str, str]
HEADER: Row = ("measure", "stepstream", "baseline", "ratio", "target")


def _verdict(ok: bool, target: str, miss: str = "") -> str:
    return f"{target}: met" if ok else f"{target}: **missed** {miss}".rstrip()


def _ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}" if base else "-"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


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
            rate, bare_rate = await scenarios.throughput(plan, ours, bare)
            resumed, fresh = await scenarios.resume_cost(plan, ours)
            pace, bare_pace = await scenarios.pacing(plan, ours, bare)
            stream, batched, old = await scenarios.old_method(plan, ours, per_step)
    n = plan.throughput_steps
    rows.append(
        (
            f"throughput, events/s, 1 client, {n:,} zero-wait steps (vs bare sse-starlette)",
            f"{rate:,.0f}",
            f"{bare_rate:,.0f}",
            _ratio(rate, bare_rate),
            _verdict(rate / bare_rate >= 0.8, "≥ 0.8", f"by {0.8 - rate / bare_rate:.2f}"),
        )
    )
    for count in plan.stream_levels:
        rows += _hold_rows(
            plan,
            await scenarios.hold_streams(plan, APP, count),
            await scenarios.hold_streams(plan, BARE, count),
        )
    r50, r99, f50, f99 = (percentile(v, q) for v in (resumed, fresh) for q in (0.5, 0.99))
    rows += [
        (
            f"resume: ms to `start`, p50 / p99, {plan.resumes:,} each (vs a fresh start)",
            f"{_ms(r50)} / {_ms(r99)}",
            f"{_ms(f50)} / {_ms(f99)}",
            f"{_ratio(r50, f50)} / {_ratio(r99, f99)}",
            "-",
        ),
        (
            f"pacing: wall / ideal, {plan.pace_steps} steps × {plan.pace_wait} s (vs bare)",
            f"{pace:.4f}",
            f"{bare_pace:.4f}",
            _ratio(pace, bare_pace),
            _verdict(pace <= 1.02, "≤ 1.02", f"by {pace - 1.02:.3f}"),
        ),
    ]
    job = f"{plan.old_steps} × {plan.old_wait} s job"
    for label, base in (("one step per request", old), (f"{plan.old_budget} s batches", batched)):
        rows += [
            (
                f"{job}, requests: stream (vs JSON steps, {label})",
                f"{stream.requests:.0f}",
                f"{base.requests:.0f}",
                _ratio(stream.requests, base.requests),
                "-",
            ),
            (
                f"{job}, bytes on the wire: stream (vs JSON steps, {label})",
                f"{stream.bytes:,.0f}",
                f"{base.bytes:,.0f}",
                _ratio(stream.bytes, base.bytes),
                "-",
            ),
            (
                f"{job}, wall s: stream (vs JSON steps, {label})",
                f"{stream.seconds:.2f}",
                f"{base.seconds:.2f}",
                _ratio(stream.seconds, base.seconds),
                "-",
            ),
        ]
    scrape, parse_only = await scrape_cpu.cpu_per_page(plan.scrape_pages, plan.rounds)
    rows.append(
        (
            f"scrape: CPU ms per page, {plan.scrape_pages} pages of 150 links "
            "(vs httpx + resiliparse alone)",
            _ms(scrape),
            _ms(parse_only),
            _ratio(scrape, parse_only),
            _verdict(scrape <= 1.5 * parse_only, "≤ 1.5", f"by {scrape / parse_only - 1.5:.2f}"),
        )
    )
    sleep_bytes = max(sleep_cursor_bytes(), stream.longest_id)
    rows += [
        (
            "cursor bytes, sleep job (longest possible; longest seen on the wire)",
            f"{sleep_bytes} ({stream.longest_id})",
            "-",
            "-",
            _verdict(sleep_bytes <= 128, "≤ 128", f"by {sleep_bytes - 128} bytes"),
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


def _hold_rows(plan: Plan, ours: scenarios.Hold, bare: scenarios.Hold) -> list[Row]:
    n = f"{ours.streams:,} streams"
    kib = 1024
    late = ours.lateness_p99 < 1
    return [
        (
            f"{n}: failed connections (vs bare)",
            f"{ours.failed}",
            f"{bare.failed}",
            "-",
            _verdict(ours.failed == 0, "0", f"by {ours.failed}"),
        ),
        (
            f"{n}: RSS growth per stream, KiB (vs bare)",
            f"{ours.rss_per_stream / kib:.1f}",
            f"{bare.rss_per_stream / kib:.1f}",
            _ratio(ours.rss_per_stream, bare.rss_per_stream),
            _verdict(
                ours.rss_per_stream <= bare.rss_per_stream,
                "≤ bare",
                f"by {(ours.rss_per_stream - bare.rss_per_stream) / kib:.1f} KiB",
            ),
        ),
        (
            f"{n}: heartbeat lateness p50 / p99, ms, {ours.heartbeats:,} beats (vs bare)",
            f"{_ms(ours.lateness_p50)} / {_ms(ours.lateness_p99)}",
            f"{_ms(bare.lateness_p50)} / {_ms(bare.lateness_p99)}",
            "-",
            _verdict(late, "p99 < 1000", f"by {_ms(ours.lateness_p99 - 1)} ms"),
        ),
        (
            f"{n}: server CPU %, holding {plan.hold:.0f} s (vs bare)",
            f"{ours.server_cpu * 100:.1f}",
            f"{bare.server_cpu * 100:.1f}",
            _ratio(ours.server_cpu, bare.server_cpu),
            "-",
        ),
        (
            f"{n}: s to connect all; load generator CPU % (vs bare)",
            f"{ours.connect_seconds:.1f}; {ours.load_cpu * 100:.0f}",
            f"{bare.connect_seconds:.1f}; {bare.load_cpu * 100:.0f}",
            "-",
            "-",
        ),
    ]


def render(rows: list[Row]) -> str:
    lines = [HEADER, ("---",) * 5, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _run(coroutine: Coroutine[Any, Any, list[Row]]) -> list[Row]:
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
    rows = _run(asyncio.wait_for(measure(plan), 900))
    print(render(rows))
    print(f"\n{plan.rounds} round(s), medians; took {time.monotonic() - began:.0f} s.")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
