"""What the app shares between requests, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.jobs import JobKind
from app.metrics import Metrics
from app.runner import Runner
from app.settings import Settings
from app.stream import StreamSlots
from app.tokens import TokenCodec


@dataclass
class AppState:
    settings: Settings
    codec: TokenCodec
    kinds: dict[str, JobKind[Any]]
    metrics: Metrics
    runner: Runner
    slots: StreamSlots
