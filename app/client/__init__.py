"""stepstream's Python client: follow a job to its end, resuming by itself.

It needs the ``client`` extra (``pip install 'stepstream[client]'``) and
imports nothing else of ``app``: all it knows of a kind comes from the server.
"""

try:
    import httpx_sse  # noqa: F401
except ImportError as exc:  # pragma: no cover - the suite installs the extra
    raise ImportError(
        "stepstream's client needs its extra: pip install 'stepstream[client]'"
    ) from exc

from app.client.client import AsyncClient
from app.client.errors import (
    ApiError,
    ClientError,
    InvalidParamsError,
    JobError,
    TokenError,
    Unauthorized,
    Unreachable,
)
from app.client.models import JobInfo, KindInfo, Progress, StepResult, Summary
from app.client.run import JobRun
from app.client.sync import Client, Run

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "InvalidParamsError",
    "JobError",
    "JobInfo",
    "JobRun",
    "KindInfo",
    "Progress",
    "Run",
    "StepResult",
    "Summary",
    "TokenError",
    "Unauthorized",
    "Unreachable",
]
