"""Signed job tokens and resume cursors.

A job token carries the job's spec; a cursor carries a position in one job.
Both are itsdangerous timestamped signatures with a salt per purpose, so a
cursor can never pass as a job token or the other way round. The payloads are
compact JSON lists (not objects) to keep a cursor short: a browser sends a
CORS preflight before a cross-origin reconnect whose ``Last-Event-ID`` is over
128 bytes.

itsdangerous signs with the *last* key it is given and verifies with all, so
the configured list (first key signs) is handed over reversed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
    base64_decode,
    base64_encode,
)

from app.errors import InvalidToken, TokenExpired

JOB_SALT = "stepstream.job"
CURSOR_SALT = "stepstream.cursor"
_CURSOR_DEFAULTS = (0, None, 0)
_ZLIB_WORTH_TRYING = 64
"""JSON bytes under which zlib's header and checksum outweigh what it saves."""
JobState = Any
"""Whatever small JSON value a job kind carries from one step to the next."""


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a job: the next step to run, how many steps failed so far
    (so ``done`` can count them after a resume), and the kind's state."""

    job_id: str
    next: int = 0
    failed: int = 0
    state: JobState = None
    final: bool = False


def random_job_id() -> str:
    return secrets.token_urlsafe(9)


def derived_job_id(kind: str, params: dict[str, Any]) -> str:
    """The same one-liner URL is the same job, so a client can resume on it."""
    canonical = json.dumps([kind, params], sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(canonical.encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _is_default(value: Any, default: Any) -> bool:
    return value is None if default is None else value == default


class _ClockedSigner(TimestampSigner):
    """A TimestampSigner whose clock can be injected, so expiry is tested without sleeping."""

    def __init__(self, *args: Any, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._derived: dict[str | bytes | None, bytes] = {}

    def get_timestamp(self) -> int:
        return int(self._clock())

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """Derived once per key: deriving it again for every event was a third of a
        cursor's cost."""
        derived = self._derived.get(secret_key)
        if derived is None:
            derived = self._derived[secret_key] = super().derive_key(secret_key)
        return derived


class TokenCodec:
    def __init__(
        self,
        secret_keys: Sequence[str],
        max_age: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        keys = list(reversed(secret_keys))
        signer_kwargs = {"clock": clock, "digest_method": hashlib.sha256}
        self._jobs = URLSafeTimedSerializer(
            keys, salt=JOB_SALT, signer=_ClockedSigner, signer_kwargs=signer_kwargs
        )
        self._cursors = URLSafeTimedSerializer(
            keys, salt=CURSOR_SALT, signer=_ClockedSigner, signer_kwargs=signer_kwargs
        )
        self._cursor_signer = self._cursors.make_signer()
        self._max_age = max_age

    def dump_job(self, spec: JobSpec) -> str:
        return self._jobs.dumps([spec.id, spec.kind, spec.params])

    def load_job(self, token: str) -> JobSpec:
        payload = self._load(self._jobs, token, "job token")
        match payload:
            case [str(job_id), str(kind), dict(params)]:
                return JobSpec(job_id, kind, params)
        raise InvalidToken("The job token's content is malformed.")

    def dump_cursor(self, cursor: Cursor) -> str:
        payload: list[Any] = [
            cursor.job_id,
            cursor.next,
            cursor.failed,
            cursor.state,
            1 if cursor.final else 0,
        ]
        # Trailing defaults are left out: most cursors are just [job, next].
        while len(payload) > 2 and _is_default(payload[-1], _CURSOR_DEFAULTS[len(payload) - 3]):
            payload.pop()
        # The same token URLSafeTimedSerializer.dumps makes, without building a
        # signer per call, and without trying zlib on a payload too short to gain.
        json_bytes = json.dumps(payload, separators=(",", ":")).encode()
        if len(json_bytes) > _ZLIB_WORTH_TRYING:
            encoded = self._cursors.dump_payload(payload)
        else:
            encoded = base64_encode(json_bytes)
        return self._cursor_signer.sign(encoded).decode()

    def load_cursor(self, token: str, job_id: str) -> Cursor:
        """Decode a cursor and check that it belongs to ``job_id``."""
        payload = self._load(self._cursors, token, "cursor")
        match payload:
            case [str(owner), int(position), *rest] if position >= 0 and len(rest) <= 3:
                padded: list[Any] = [*rest, *_CURSOR_DEFAULTS[len(rest) :]]
                failed, state, final = padded
            case _:
                raise InvalidToken("The cursor's content is malformed.")
        if type(failed) is not int or not 0 <= failed <= position or final not in (0, 1):
            raise InvalidToken("The cursor's content is malformed.")
        if owner != job_id:
            raise InvalidToken("This cursor belongs to another job.")
        return Cursor(owner, position, failed, state, bool(final))

    def _load(self, serializer: URLSafeTimedSerializer, token: str, what: str) -> Any:
        if len(token) > 16384:
            raise InvalidToken(f"The {what} is too long.")
        try:
            signature = token.rpartition(".")[2]
            if base64_encode(base64_decode(signature)).decode() != signature:
                # The last base64 character has spare bits: without this check
                # a token altered there would still pass.
                raise BadSignature("signature not in canonical form")
            return serializer.loads(token, max_age=int(self._max_age))
        except SignatureExpired as exc:
            raise TokenExpired(f"The {what} has expired; start the job again.") from exc
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidToken(f"The {what} is malformed or has been tampered with.") from exc
