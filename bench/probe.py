"""What a benchmark server reports about its own heap: tracked objects and GC pauses.

``bench.serve`` installs it in the server's process, outside the app under
test. Every collection is timed through ``gc.callbacks``; on SIGUSR1 the process
writes to a JSON file the objects the collector tracks (``len(gc.get_objects())``,
by type), the collections since the last report, each as ``[generation, start,
seconds]`` with ``start`` on ``time.monotonic``, the clock every process here
shares, so the bench can keep those of its own time window, and then how long
one full collection forced right after counting took (``collect_seconds``).
"""

from __future__ import annotations

import gc
import json
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_ENV = "BENCH_GC_REPORT"


class GcProbe:
    """Times collections into a flat array: no tracked object of its own per collection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reports = 0
        self._pauses = array("d")
        self._started = 0.0

    def install(self) -> None:
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._started = now
        else:
            self._pauses.extend((info["generation"], self._started, now - self._started))

    def report(self) -> None:
        objects = gc.get_objects()
        tracked = len(objects)
        by_type = Counter(map(type, objects))
        del objects
        pauses, self._pauses = self._pauses.tolist(), array("d")
        began = time.perf_counter()
        gc.collect()
        self.reports += 1
        body = {
            "report": self.reports,
            "tracked": tracked,
            "collect_seconds": time.perf_counter() - began,
            "frozen": gc.get_freeze_count(),
            "types": {f"{t.__module__}.{t.__qualname__}": n for t, n in by_type.items()},
            "gc_pauses": [pauses[i : i + 3] for i in range(0, len(pauses), 3)],
        }
        written = self.path.with_suffix(".tmp")
        written.write_text(json.dumps(body))
        os.replace(written, self.path)


@dataclass(frozen=True)
class Pause:
    generation: int
    start: float
    seconds: float


@dataclass(frozen=True)
class HeapReport:
    report: int
    tracked: int
    collect_seconds: float
    frozen: int
    types: dict[str, int]
    pauses: list[Pause]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> HeapReport:
        pauses = [Pause(int(g), start, seconds) for g, start, seconds in body["gc_pauses"]]
        return cls(
            body["report"],
            body["tracked"],
            body["collect_seconds"],
            body["frozen"],
            body["types"],
            pauses,
        )

    def full_pauses(self, since: float, until: float) -> list[float]:
        """Seconds of each full (generation 2) collection that started in the window."""
        return [p.seconds for p in self.pauses if p.generation == 2 and since <= p.start < until]
