"""Cursor sizes, minted with the app's own codec: what ``Last-Event-ID`` carries."""

from __future__ import annotations

import time

from app.tokens import Cursor, TokenCodec, derived_job_id
from bench.servers import BENCH_SECRET


def sleep_cursor_bytes() -> int:
    """The longest cursor a sleep job gives out: its last steps and its final one."""
    codec = TokenCodec([BENCH_SECRET], 3600)
    job_id = derived_job_id("sleep", {"steps": 100_000, "wait": 1.0})
    cursors = [
        Cursor(job_id, 99_999),
        Cursor(job_id, 99_999, failed=99_999),
        Cursor(job_id, 100_000, failed=99_999, final=True),
    ]
    return max(len(codec.dump_cursor(cursor)) for cursor in cursors)


def scrape_cursor_bytes(urls: int = 500, hosts: int = 50) -> int:
    """A scrape cursor near its end whose state keeps the last request time of every host.

    This is the naive state (one entry per host); a scrape kind that keeps
    only what the next request needs carries less.
    """
    codec = TokenCodec([BENCH_SECRET], 3600)
    params = {"urls": [f"https://host{i % hosts}.example/page/{i}" for i in range(urls)]}
    job_id = derived_job_id("scrape", params)
    now = time.time()
    state = {f"host{i}.example": round(now - i * 0.7, 2) for i in range(hosts)}
    return len(codec.dump_cursor(Cursor(job_id, urls - 1, failed=3, state=state)))
