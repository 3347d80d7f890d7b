"""The one error type the HTTP layer answers with, and its JSON body.

Exception tree::

    StepstreamError              (any status; JSON {"error": {"code", "message"}})
    ├── BadRequest               400  a body that is not JSON
    ├── InvalidToken             400  malformed, tampered, or another job's token
    ├── TokenExpired             410  signed by us, but older than the max age
    ├── Unauthorized             401  no valid API key to start a job (WWW-Authenticate)
    ├── NotFound                 404  unknown path
    │   └── UnknownKind          404  a job kind this server does not run
    ├── BodyTooLarge             413  request body over STEPSTREAM_MAX_BODY
    ├── UnsupportedMediaType     415  a POST body that is not application/json
    ├── InvalidParams            422  params that fail validation, per field
    ├── TooManyClientStreams     429  this client holds its share of streams (Retry-After)
    ├── TooManyStreams           503  every stream slot is taken (Retry-After)
    └── ShuttingDown             503  the server is stopping; try another (Retry-After)
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.responses import ApiResponse


class StepstreamError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        detail: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.headers = headers


class BadRequest(StepstreamError):
    status_code = 400
    code = "bad_request"


class InvalidToken(StepstreamError):
    status_code = 400
    code = "invalid_token"


class TokenExpired(StepstreamError):
    status_code = 410
    code = "token_expired"


class NotFound(StepstreamError):
    status_code = 404
    code = "not_found"


class UnknownKind(NotFound):
    code = "unknown_kind"


class Unauthorized(StepstreamError):
    status_code = 401
    code = "unauthorized"


class UnsupportedMediaType(StepstreamError):
    status_code = 415
    code = "unsupported_media_type"


class BodyTooLarge(StepstreamError):
    status_code = 413
    code = "body_too_large"


class InvalidParams(StepstreamError):
    status_code = 422
    code = "invalid_params"


class TooManyClientStreams(StepstreamError):
    status_code = 429
    code = "too_many_streams"


class TooManyStreams(StepstreamError):
    status_code = 503
    code = "too_many_streams"


class ShuttingDown(StepstreamError):
    status_code = 503
    code = "shutting_down"


def error_body(
    code: str, message: str, detail: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return {"error": error}


async def handle_stepstream_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StepstreamError)
    return ApiResponse(
        error_body(exc.code, exc.message, exc.detail),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 answers, in our body shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return ApiResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Never leak a traceback: the log has it, the client gets the body shape."""
    return ApiResponse(error_body("internal_error", "Internal server error"), status_code=500)
