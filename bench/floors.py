"""Stepstream against bare sse-starlette and the two floors, in one table.

The floors (``bench/raw.py``: raw ASGI, raw ASGI with an HMAC per event) are
context: each of their figures also shows its ratio to bare, so stepstream's
figure reads both against bare and against what Python does on this machine.
Throughput runs the four servers in turn in each round; every round holds each
stream level on a fresh process of each server, one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from bench import scenarios
from bench.hold import Hold, hold_streams, median_hold
from bench.scenarios import FLOORS, Plan
from bench.servers import BenchServer
from bench.table import ms, ratio, verdict

FloorRow = tuple[str, str, str, str, str, str, str]
HEADER: FloorRow = ("measure", "stepstream", "bare", "ratio", "raw", "raw+HMAC", "target")
THROUGHPUT_TARGET = 2.0
MEMORY_TARGET = 0.5
MEMORY_TARGET_LEVELS = (5_000, 10_000)
HEARTBEAT_TARGET_LEVEL = 10_000
LATENESS_TARGET = 0.1
LOAD_CPU_CEILING = 0.5
"""Above half a core, the load generator could be what the figures measure."""


@dataclass(frozen=True)
class Floors:
    rows: list[FloorRow]
    holds: dict[int, list[Hold]]
    """The median hold of each level, in ``FLOORS`` order."""


async def measure_floors(plan: Plan) -> Floors:
    env = {
        "STEPSTREAM_HEARTBEAT": str(plan.heartbeat),
        "STEPSTREAM_MAX_STREAMS": "20000",
        "STEPSTREAM_MAX_STREAMS_PER_CLIENT": "20000",
    }
    with ExitStack() as stack:
        servers = [stack.enter_context(BenchServer(app, env)) for app in FLOORS]
        rates = await scenarios.throughput(plan, servers)
    rounds: dict[tuple[int, str], list[Hold]] = {}
    for _ in range(plan.rounds):
        for count in plan.stream_levels:
            for app in FLOORS:
                hold = await hold_streams(plan, app, count)
                rounds.setdefault((count, app), []).append(hold)
    holds = {
        count: [median_hold(rounds[count, app]) for app in FLOORS] for count in plan.stream_levels
    }
    rows = [_throughput_row(plan, rates)]
    for count in plan.stream_levels:
        rows += _hold_rows(holds[count])
    return Floors(rows, holds)


Cells = tuple[str, str, str, str, str]
"""stepstream, bare, the ratio of the two, raw, raw+HMAC."""


def _cells(texts: list[str], ratio_text: str = "-") -> Cells:
    ours, bare, raw, signed = texts
    return ours, bare, ratio_text, raw, signed


def _against_bare(values: list[float], shown: Callable[[float], str]) -> Cells:
    """The floors' cells carry their own ratio to bare in brackets."""
    ours, bare, raw, signed = values
    floors = [f"{shown(value)} ({ratio(value, bare)})" for value in (raw, signed)]
    return _cells([shown(ours), shown(bare), *floors], ratio(ours, bare))


def _each(holds: list[Hold], shown: Callable[[Hold], str], ratio_text: str = "-") -> Cells:
    return _cells([shown(hold) for hold in holds], ratio_text)


def _row(measure: str, cells: Cells, target: str) -> FloorRow:
    return (measure, *cells, target)


def _throughput_row(plan: Plan, rates: list[float]) -> FloorRow:
    share = rates[0] / rates[1]
    return _row(
        f"throughput, events/s, 1 client, {plan.throughput_steps:,} zero-wait steps",
        _against_bare(rates, "{:,.0f}".format),
        verdict(
            share >= THROUGHPUT_TARGET,
            f"≥ {THROUGHPUT_TARGET} × bare",
            f"by {THROUGHPUT_TARGET - share:.2f}",
        ),
    )


def _memory_target(ours: Hold, bare: Hold) -> str:
    if ours.streams not in MEMORY_TARGET_LEVELS:
        return "-"
    share = ours.rss_per_stream / bare.rss_per_stream
    return verdict(
        share <= MEMORY_TARGET, f"≤ {MEMORY_TARGET} × bare", f"by {share - MEMORY_TARGET:.2f}"
    )


def _gc_pauses(hold: Hold) -> str:
    return f"{ms(hold.full_gc_longest)} ({hold.full_gc_count:.0f}); {ms(hold.forced_gc_seconds)}"


def _hold_rows(holds: list[Hold]) -> list[FloorRow]:
    ours, bare = holds[0], holds[1]
    n = f"{ours.streams:,} streams"
    at_target = ours.streams == HEARTBEAT_TARGET_LEVEL
    busiest = max(max(h.load_cpu_connecting, h.load_cpu_holding) for h in holds)
    late_by = f"by {ms(ours.lateness_p99 - LATENESS_TARGET)} ms"
    return [
        _row(
            f"{n}: failed connections",
            _each(holds, lambda h: f"{h.failed:.0f}"),
            verdict(ours.failed == 0, "0", f"by {ours.failed:.0f}"),
        ),
        _row(
            f"{n}: RSS growth per idle stream, KiB",
            _against_bare([h.rss_per_stream / 1024 for h in holds], "{:.1f}".format),
            _memory_target(ours, bare),
        ),
        _row(
            f"{n}: objects the GC tracks, per stream",
            _against_bare([h.tracked_per_stream for h in holds], "{:.0f}".format),
            "-",
        ),
        _row(
            f"{n}: full GC pauses, ms: longest while holding (count); one forced at the end",
            _each(holds, _gc_pauses, ratio(ours.forced_gc_seconds, bare.forced_gc_seconds)),
            "-",
        ),
        _row(
            f"{n}: heartbeat lateness once all connected, p50 / p99 ms "
            f"({ours.heartbeats:,.0f} beats)",
            _each(holds, lambda h: f"{ms(h.lateness_p50)} / {ms(h.lateness_p99)}"),
            _target_at(at_target, ours.lateness_p99 < LATENESS_TARGET, "p99 < 100", late_by),
        ),
        _row(
            f"{n}: server CPU % for them, holding",
            _against_bare([h.server_cpu * 100 for h in holds], "{:.1f}".format),
            _target_at(
                at_target,
                ours.server_cpu <= bare.server_cpu,
                "≤ bare",
                f"by {(ours.server_cpu - bare.server_cpu) * 100:.1f} points",
            ),
        ),
        _row(
            f"{n}: s to accept them all",
            _against_bare([h.connect_seconds for h in holds], "{:.1f}".format),
            _target_at(
                at_target,
                ours.connect_seconds <= bare.connect_seconds,
                "≤ bare",
                f"by {ours.connect_seconds - bare.connect_seconds:.1f} s",
            ),
        ),
        _row(
            f"{n}: load generator CPU %, connecting / holding",
            _each(
                holds,
                lambda h: f"{h.load_cpu_connecting * 100:.0f} / {h.load_cpu_holding * 100:.0f}",
            ),
            verdict(busiest < LOAD_CPU_CEILING, "< 50: not the bottleneck", "(it may be)"),
        ),
    ]


def _target_at(applies: bool, ok: bool, target: str, miss: str = "") -> str:
    return verdict(ok, target, miss) if applies else "-"


TYPES_HEADER = ("type the GC tracks (objects per stream)", "stepstream", "bare")


def type_rows(holds: list[Hold], top: int = 15) -> list[tuple[str, str, str]]:
    """The types that grow most per stream in stepstream or in bare, side by side."""
    ours, bare = holds[0].types_per_stream, holds[1].types_per_stream
    names = sorted(ours.keys() | bare.keys(), key=lambda n: -max(ours.get(n, 0), bare.get(n, 0)))
    return [(f"`{n}`", f"{ours.get(n, 0):.2f}", f"{bare.get(n, 0):.2f}") for n in names[:top]]
