"""Why a page was not fetched: one code per way it can fail, as the step's ``error``."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "timeout",
    "connect_error",
    "blocked",
    "robots_disallowed",
    "too_large",
    "too_many_redirects",
    "http_status",
    "invalid_content",
    "invalid_redirect",
    "invalid_url",
]
RETRYABLE: frozenset[ErrorCode] = frozenset({"timeout", "connect_error"})


class ScrapeError(Exception):
    """A page failed in an expected way; its step is ``ok: false`` and the job goes on."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail
