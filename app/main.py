"""The ASGI app: ``uvicorn app.main:app``."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
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
from app.jobs import create_kinds
from app.keys import load_secret_keys
from app.metrics import Metrics
from app.routes import routes
from app.runner import Runner
from app.settings import Settings
from app.state import AppState
from app.stream import StreamSlots
from app.tokens import TokenCodec

logger = logging.getLogger("stepstream")


def create_app(
    settings: Settings | None = None, clock: Callable[[], float] = time.time
) -> Starlette:
    settings = settings or Settings()
    _configure_logging()
    metrics = Metrics()
    codec = TokenCodec(load_secret_keys(settings), settings.token_max_age, clock)
    state = AppState(
        settings=settings,
        codec=codec,
        kinds=create_kinds(settings),
        metrics=metrics,
        runner=Runner(codec, metrics),
        slots=StreamSlots(settings.max_streams, metrics),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
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
                allow_headers=["Content-Type", "Last-Event-ID"],
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


app = create_app()
