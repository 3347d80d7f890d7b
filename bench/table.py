"""Markdown tables and the few ways a figure is written in them."""

from __future__ import annotations

from collections.abc import Sequence


def verdict(ok: bool, target: str, miss: str = "") -> str:
    return f"{target}: met" if ok else f"{target}: **missed** {miss}".rstrip()


def ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}" if base else "-"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ("---",) * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
