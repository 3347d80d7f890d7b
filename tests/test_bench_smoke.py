"""The benchmark's quick mode starts its servers, runs every measure and prints
its table. No timing is asserted: figures on a shared machine prove nothing."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import ROOT


def test_quick_bench_prints_a_table() -> None:
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
    assert rows[0] == "| measure | stepstream | baseline | ratio | target |"
    measures = " ".join(rows)
    names = ("throughput", "streams: failed", "resume", "pacing", "requests", "cursor bytes")
    for name in (*names, "scrape: CPU"):
        assert name in measures
    assert len(rows) >= 15
