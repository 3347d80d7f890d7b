"""Knowing that the server is stopping, whichever server runs us.

uvicorn waits for open streams until its graceful timeout, and tells the app
nothing before then. We chain our handler in front of the server's own for
SIGTERM and SIGINT (installed at start-up, or at the first request when the
app is mounted and its lifespan never runs), so streams and batches can end
cleanly at once while the server goes on with its own shutdown.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown:
    def __init__(self) -> None:
        self.is_set = False
        self._callbacks: list[Callable[[], None]] = []
        self._installed = False

    def on_set(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def install(self) -> None:
        """Chain our handler in front of the current one; idempotent, main thread only."""
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = True
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            previous = signal.getsignal(signum)
            signal.signal(signum, self._chain(loop, previous))

    def _chain(self, loop: asyncio.AbstractEventLoop, previous: Any) -> Callable[..., None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.trigger)
            if callable(previous):
                previous(signum, frame)
            elif previous in (signal.SIG_DFL, None):
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        return handler

    def trigger(self) -> None:
        if self.is_set:
            return
        self.is_set = True
        for callback in self._callbacks:
            callback()
