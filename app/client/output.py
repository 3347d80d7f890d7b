"""Where the command writes steps: JSON lines, or a CSV with the result flattened.

Each step is written and flushed as it arrives, so a Ctrl-C or a crash never
leaves a step half-written or lost. A CSV's columns are the union of the
results' fields; when a later step brings a new field, the file is rewritten
with the wider header (rare: results of one kind share their fields). A
result's own ``ok`` or ``elapsed_ms`` is ``result.ok``, as on the page, so it
never hides the step's.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Protocol, TextIO

from app.client.models import StepResult

FIXED_COLUMNS = ["index", "ok", "elapsed_ms"]


class StepWriter(Protocol):
    def write(self, step: StepResult) -> None: ...

    def close(self) -> None: ...


class JsonLinesWriter:
    def __init__(self, stream: TextIO, *, owned: bool) -> None:
        self._stream = stream
        self._owned = owned

    def write(self, step: StepResult) -> None:
        self._stream.write(json.dumps(step.as_record(), ensure_ascii=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns; lists stay one cell, as JSON."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}{key}."))
        return flat
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    return {prefix.removesuffix("."): value}


class CsvWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._columns: list[str] = []
        if path.exists() and path.stat().st_size:
            with path.open(newline="", encoding="utf-8") as existing:
                self._columns = next(csv.reader(existing), [])

    def write(self, step: StepResult) -> None:
        row: dict[str, Any] = {"index": step.index, "ok": step.ok, "elapsed_ms": step.elapsed_ms}
        for key, value in flatten(step.result).items():
            row[f"result.{key}" if key in FIXED_COLUMNS else key] = value  # as the page does
        known = self._columns or FIXED_COLUMNS
        new = [column for column in row if column not in known]
        if new or not self._columns:
            self._widen([*known, *new])
        with self._path.open("a", newline="", encoding="utf-8") as out:
            csv.DictWriter(out, self._columns).writerow(row)

    def _widen(self, columns: list[str]) -> None:
        rows: list[dict[str, str]] = []
        if self._path.exists() and self._path.stat().st_size:
            with self._path.open(newline="", encoding="utf-8") as existing:
                rows = list(csv.DictReader(existing))
        partial = self._path.with_name(self._path.name + ".partial")
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(partial, self._path)
        self._columns = columns

    def close(self) -> None:
        """Every row is on disk already."""


def open_writer(path: Path | None, stdout: TextIO, *, append: bool) -> StepWriter:
    """stdout when no path; else by extension, appending on a resume."""
    if path is None:
        return JsonLinesWriter(stdout, owned=False)
    if path.suffix.lower() == ".csv":
        if not append:
            path.unlink(missing_ok=True)
        return CsvWriter(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return JsonLinesWriter(path.open("a" if append else "w", encoding="utf-8"), owned=True)
    raise ValueError(f"{path}: the output must end in .jsonl or .csv")
