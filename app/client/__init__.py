"""stepstream's Python client: follow a job to its end, resuming by itself."""

from app.client.errors import (
    ApiError,
    ClientError,
    InvalidParamsError,
    JobError,
    TokenError,
    Unreachable,
)
from app.client.models import JobInfo, StepResult, Summary
from app.client.stream import AsyncClient, JobRun
from app.client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "InvalidParamsError",
    "JobError",
    "JobInfo",
    "JobRun",
    "StepResult",
    "Summary",
    "TokenError",
    "Unreachable",
]
