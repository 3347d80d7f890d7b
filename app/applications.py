"""``create_app``: the whole service from settings and kinds, with nothing done at import."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.errors import (
    StepstreamError,
    handle_http_exception,
    handle_stepstream_error,
    handle_unexpected,
)
from app.jobs.loading import KindSource, load_kinds
from app.routes import routes
from app.settings import Settings
from app.state import AppState

logger = logging.getLogger("stepstream")


def create_app(
    settings: Settings | None = None,
    kinds: Sequence[KindSource] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The ASGI app; ``kinds`` (built-in names, import strings, kinds) overrides the setting.

    Raises ``KindError`` (one line naming it) for a kind that cannot be served.
    """
    settings = settings or Settings()
    _configure_logging()
    state = AppState(settings, load_kinds(settings, kinds), clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.codec  # noqa: B018  (read or make the key now: its log line belongs to start-up)
        # What start-up made lives as long as the process: out of the collector's way, so a
        # full collection with 10,000 open streams walks the streams and not the imports.
        gc.freeze()
        state.watch_shutdown()
        if not settings.api_keys:
            logger.warning(
                "stepstream: STEPSTREAM_API_KEYS is unset: anyone who reaches this server "
                "can start jobs"
            )
        try:
            yield
        finally:
            state.shutdown.trigger()
            for kind in state.kinds.values():
                await kind.aclose()

    middleware = []
    if settings.cors_origins:
        # Browsers send a stream's Last-Event-ID without a preflight while it is
        # under 128 bytes: one reason the cursor is kept that short.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                max_age=3600,
            )
        )
    app = Starlette(
        routes=routes(state),
        middleware=middleware,
        exception_handlers={
            StepstreamError: handle_stepstream_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.stepstream = state
    return app


def _configure_logging() -> None:
    """Our lines beside uvicorn's, which configures only its own loggers."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
