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
import hmac
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
from itsdangerous.encoding import int_to_bytes, want_bytes

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


_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def random_job_id() -> str:
    return secrets.token_urlsafe(9)


def derived_job_id(kind: str, params: dict[str, Any]) -> str:
    """The same one-liner URL is the same job, so a client can resume on it."""
    canonical = json.dumps([kind, params], sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(canonical.encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


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


class _CursorSigner:
    """Signs exactly as ``_ClockedSigner.sign`` does, at a third of its cost: the HMAC
    keyed once and copied per cursor, the timestamp encoded once a second. Cursors are
    signed once per event, the hottest path there is; a test holds the two equal."""

    def __init__(self, signer: _ClockedSigner, clock: Callable[[], float]) -> None:
        self._keyed = hmac.new(signer.derive_key(), digestmod=hashlib.sha256)
        self._sep = want_bytes(signer.sep)
        self._clock = clock
        self._second = -1
        self._stamp = b""

    def sign(self, value: bytes) -> str:
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._stamp = self._sep + base64_encode(int_to_bytes(second))
        value += self._stamp
        mac = self._keyed.copy()
        mac.update(value)
        return (value + self._sep + base64_encode(mac.digest())).decode()


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
        self._cursor_signer = _CursorSigner(self._cursors.make_signer(), clock)  # type: ignore[arg-type]
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
        return self.sign_position(
            cursor.job_id, cursor.next, cursor.failed, cursor.state, cursor.final
        )

    def sign_position(
        self, job_id: str, next: int, failed: int = 0, state: JobState = None, final: bool = False
    ) -> str:
        """``dump_cursor`` without building a ``Cursor``: the runner signs one per event."""
        # Trailing defaults are left out: most cursors are just [job, next].
        if final:
            payload: list[Any] = [job_id, next, failed, state, 1]
        elif state is not None:
            payload = [job_id, next, failed, state]
        elif failed:
            payload = [job_id, next, failed]
        else:
            payload = [job_id, next]
        # The same token URLSafeTimedSerializer.dumps makes, without building a
        # signer per call, and without trying zlib on a payload too short to gain.
        json_bytes = _compact_json(payload).encode()
        if len(json_bytes) > _ZLIB_WORTH_TRYING:
            encoded = self._cursors.dump_payload(payload)
        else:
            encoded = base64_encode(json_bytes)
        return self._cursor_signer.sign(encoded)

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
