"""Kinds for the client's tests: every param shape the command's options are built from,
a result that repeats a step's own fields, and a step that checkpoints and reports."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from app.jobs import Params, Step, StepContext, job_kind
from tests.servers import Server

KINDS = "sleep,tests.client_kinds:greet,tests.client_kinds:checkpointed"


def kinds_server(output_dir: Path, **env: str) -> Server:
    """A server of these kinds (and ``sleep``), with a one-second heartbeat."""
    settings = {"STEPSTREAM_HEARTBEAT": "1", "STEPSTREAM_KINDS": KINDS, **env}
    return Server(settings, log_path=output_dir / "server.log")


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Shapes(Params):
    names: list[str] = Field(default_factory=list, max_length=10, description="Whom to greet.")
    times: int = Field(1, ge=1, le=5, description="How many times each.")
    ratio: float = Field(0.5, ge=0, le=1, description="A share of 100%.")
    loud: bool = Field(False, description="Shout it.")
    colour: Colour = Field(Colour.RED, description="Ink.")
    mode: Literal["fast", "slow"] = "fast"
    note: str | None = Field(None, max_length=50, description="Anything to add.")


@job_kind(
    params=Shapes,
    total=lambda p: max(1, len(p.names)),
    title="Greet 100%",
    aliases={"name": "names"},
)
def greet(ctx: StepContext[Shapes]) -> dict[str, Any]:
    """Greets each name: the params come back as the step saw them."""
    return {"params": ctx.params.model_dump(mode="json"), "ok": "its own", "elapsed_ms": -1}


class Pause(Params):
    steps: int = Field(2, ge=1, le=20)
    seconds: float = Field(1.0, ge=0, le=10)


@job_kind(params=Pause, total=lambda p: p.steps, title="Checkpointed")
async def checkpointed(ctx: StepContext[Pause]) -> Step:
    """Books its step in a checkpoint, says so, then waits."""
    seen = ctx.state
    ctx.checkpoint({"booked": ctx.index})
    ctx.progress("booked", 0.5)
    await asyncio.sleep(ctx.params.seconds)
    return Step({"state_seen": seen})
