"""What the client raises.

Exception tree::

    ClientError                 anything the client gives up on
    ├── ApiError                the server answered with an error body
    │   ├── InvalidParamsError  422  detail: one entry per field
    │   ├── TokenError          400 invalid_token, 410 token_expired
    │   └── Unauthorized        401  no API key, or not one the server knows
    ├── JobError                the stream ended with ``event: error``
    └── Unreachable             no answer for longer than the give-up time

``JobError`` and ``Unreachable`` carry the job and the cursor to resume from.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    def __init__(self, message: str, *, job: str | None = None, cursor: str | None = None):
        super().__init__(message)
        self.message = message
        self.job = job
        self.cursor = cursor


class ApiError(ClientError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: list[dict[str, Any]] | None = None,
        *,
        job: str | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}", job=job, cursor=cursor)
        self.status = status
        self.code = code
        self.detail = detail or []


class InvalidParamsError(ApiError):
    pass


class TokenError(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class JobError(ClientError):
    def __init__(self, code: str, message: str, *, job: str | None, cursor: str | None):
        super().__init__(f"{code}: {message}", job=job, cursor=cursor)
        self.code = code


class Unreachable(ClientError):
    pass


def api_error(
    response_status: int, body: Any, *, job: str | None = None, cursor: str | None = None
) -> ApiError:
    """The error for a refused request, from our JSON error body (or whatever came instead)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "http_error", "message": f"HTTP {response_status}"}
    code = str(error.get("code", "http_error"))
    message = str(error.get("message", ""))
    detail = error.get("detail") if isinstance(error.get("detail"), list) else None
    kind: type[ApiError] = ApiError
    if response_status == 422:
        kind = InvalidParamsError
    elif response_status == 401:
        kind = Unauthorized
    elif response_status == 410 or code in ("invalid_token", "token_expired"):
        kind = TokenError
    return kind(response_status, code, message, detail, job=job, cursor=cursor)
