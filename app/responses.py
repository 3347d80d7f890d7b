"""Every ``/api/`` answer says ``Cache-Control: no-store``, 204s and errors included:
a cache in front must never replay one client's 204 or 410 to another. Set on each
answer rather than by a middleware, which would add a frame to every open stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

NO_STORE = "no-store"


class ApiResponse(JSONResponse):
    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(content, status_code, {"Cache-Control": NO_STORE, **(headers or {})})


def no_content() -> Response:
    return Response(status_code=204, headers={"Cache-Control": NO_STORE})
