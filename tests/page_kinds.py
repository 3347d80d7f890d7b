"""Kinds the page tests serve.

``everything`` has a param of every shape a form must draw; its step echoes what
it was given, so a test reads back exactly what the page sent, and its result has
fields named like a step's own (``ok``, ``elapsed_ms``) and nested ones, which the
table, CSV and JSON must keep apart and flatten. ``booking`` checkpoints before it
acts, so a test sees whether a resume came from the checkpoint's cursor.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from app.jobs import Params, StepContext, job_kind


class Colour(StrEnum):
    red = "red"
    green = "green"


class Everything(Params):
    count: int = Field(2, ge=1, le=5, title="Count of steps", description="How many echoes.")
    ratio: float = Field(0.5, gt=0, le=1, multiple_of=0.25, description="A share.")
    name: str = Field("ada", max_length=12, description="Who asks.")
    loud: bool = Field(False, description="Shout the name.")
    mode: Literal["fast", "slow"] = Field("fast", description="How to go.")
    colour: Colour = Field(Colour.green, description="A colour from $defs.")
    limit: int | None = Field(None, ge=0, description="No limit when empty.")
    strict: bool | None = Field(None, description="Unset, true or false.")
    tags: list[str] = Field(default_factory=list, max_length=4, description="Free words.")
    sizes: list[int] = Field(default=[1, 2], description="Whole numbers.")


@job_kind(params=Everything, total=lambda p: p.count, title="Every field")
def everything(ctx: StepContext[Everything]) -> dict[str, Any]:
    """Echoes its params at every step."""
    return {
        "ok": "echoed",
        "elapsed_ms": ctx.index,
        "echo": ctx.params.model_dump(mode="json"),
    }


class Bookings(Params):
    steps: int = Field(3, ge=1, le=20)
    seconds: float = Field(1.5, ge=0, le=10, description="How long each step after the first acts.")


@job_kind(params=Bookings, total=lambda p: p.steps, title="Booking")
def booking(ctx: StepContext[Bookings]) -> dict[str, Any]:
    """Books before it acts; run again from its checkpoint, it keeps the booking."""
    if ctx.state == {"booked": ctx.index}:
        return {"kept_booking": True}
    ctx.checkpoint({"booked": ctx.index})
    time.sleep(ctx.params.seconds if ctx.index else 0)
    return {"kept_booking": False}
