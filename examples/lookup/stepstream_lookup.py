"""An example job kind: ask a slow HTTP API about each item, one item per step.

The loop people write by hand::

    for item in items:
        answer = httpx.get(f"{api}/{item}").json()   # a second or more each
        keep(answer)

as a kind: stepstream runs one item per step in a worker thread (so the
blocking call is fine), streams each answer as it comes, and resumes after any
disconnect or restart without sending an answer twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import Field, HttpUrl

from app.jobs import Params, Step, StepContext, job_kind


class Lookup(Params):
    api: HttpUrl = Field(
        title="API",
        description="The API's base URL, http or https: each item is GET <api>/<item>.",
    )
    items: list[str] = Field(
        min_length=1, max_length=100, title="Items", description="What to ask about, one per step."
    )
    timeout: float = Field(10.0, gt=0, le=60, description="Seconds to wait for one answer.")


@job_kind(params=Lookup, total=lambda p: len(p.items), title="Look up", aliases={"item": "items"})
def lookup(ctx: StepContext[Lookup]) -> Step:
    """Ask a slow HTTP API about each item, one per step, and keep its answers."""
    item = ctx.params.items[ctx.index]
    url = f"{str(ctx.params.api).rstrip('/')}/{quote(item, safe='')}"
    ctx.progress(f"asking about {item}")
    try:
        response = httpx.get(url, timeout=ctx.params.timeout)
    except httpx.HTTPError as exc:
        return Step({"item": item, "error": f"{type(exc).__name__}: {exc}"}, ok=False)
    answer: Any
    try:
        answer = response.json()
    except ValueError:
        answer = response.text[:2000]
    return Step(
        {"item": item, "status": response.status_code, "answer": answer}, ok=response.is_success
    )
