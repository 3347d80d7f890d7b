"""What the app shares between requests, built once from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.jobs.base import JobKind
from app.keys import load_secret_keys
from app.metrics import Metrics
from app.runner import Runs
from app.settings import Settings
from app.shutdown import Shutdown
from app.stream import StreamSlots
from app.tokens import TokenCodec


@dataclass(eq=False)
class AppState:
    """``codec`` reads (or makes) the key file on first use, not when the app is built,
    so importing ``app.main`` touches no file; start-up uses it at once."""

    settings: Settings
    kinds: dict[str, JobKind[Any]]
    clock: Callable[[], float]
    metrics: Metrics = field(default_factory=Metrics)
    shutdown: Shutdown = field(default_factory=Shutdown)

    def __post_init__(self) -> None:
        self.slots = StreamSlots(self.settings, self.metrics)
        self.runs = Runs(lambda: self.codec, self.metrics)
        self.shutdown.on_set(self.runs.stop_all)

    @cached_property
    def codec(self) -> TokenCodec:
        keys = load_secret_keys(self.settings)
        return TokenCodec(keys, self.settings.token_max_age, self.clock)

    def watch_shutdown(self) -> None:
        """Learn of SIGTERM from the first request on, for an app whose lifespan never ran."""
        self.shutdown.install()
