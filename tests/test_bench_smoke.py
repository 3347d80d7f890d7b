"""The benchmark's quick mode starts its servers, runs every measure and prints
its tables; the floors it compares against send the bare app's very bytes.
No timing is asserted: figures on a shared machine prove nothing."""

from __future__ import annotations

import base64
import hmac
import re
import subprocess
import sys
from contextlib import ExitStack

import httpx

from bench.scenarios import BARE, RAW, SIGNED
from bench.servers import BENCH_SECRET, BenchServer
from tests.servers import ROOT

ELAPSED = re.compile(r'"elapsed_ms":[0-9.]+')


def test_quick_bench_prints_its_tables() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| measure | stepstream | bare | ratio | raw | raw+HMAC | target |"
    assert "| measure | stepstream | baseline | ratio | target |" in rows
    measures = " ".join(rows)
    for name in (
        "throughput",
        "streams: failed",
        "RSS growth",
        "objects the GC tracks",
        "full GC pauses",
        "heartbeat lateness",
        "server CPU",
        "to accept them all",
        "load generator CPU",
        "resume",
        "pacing",
        "requests",
        "cursor bytes",
        "scrape: CPU",
        "`builtins.coroutine`",
    ):
        assert name in measures
    assert len(rows) >= 25


def _bodies(apps: tuple[str, ...], path: str, heartbeat: str = "5") -> list[str]:
    """The body each app's server sends for ``path``, the servers side by side."""
    with ExitStack() as stack:
        env = {"STEPSTREAM_HEARTBEAT": heartbeat}
        servers = [stack.enter_context(BenchServer(app, env)) for app in apps]
        return [httpx.get(f"http://127.0.0.1:{s.port}{path}", timeout=30).text for s in servers]


def test_the_floors_send_the_bare_apps_events() -> None:
    bare, raw, signed = (
        ELAPSED.sub('"elapsed_ms":_', body)
        for body in _bodies((BARE, RAW, SIGNED), "/api/sleep/events?steps=3&wait=0")
    )
    assert bare.count("event: step\n") == 3
    assert raw == bare
    ids = re.findall(r"^id: (\d+)\.(\S+)$", signed, re.MULTILINE)
    assert [position for position, _ in ids] == ["0", "1", "2", "3", "3"]
    for position, signature in ids:
        mac = hmac.digest(BENCH_SECRET.encode(), position.encode(), "sha256")
        assert signature == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert re.sub(r"^(id: \d+)\.\S+$", r"\1", signed, flags=re.MULTILINE) == bare


def test_the_raw_floor_beats_while_a_step_waits() -> None:
    (body,) = _bodies((RAW,), "/api/sleep/events?steps=1&wait=0.35", heartbeat="0.1")
    start, _, rest = body.partition(": keepalive\n\n")
    assert "event: start" in start
    assert rest.index("event: step") < rest.index("event: done")
