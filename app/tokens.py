"""Signed job tokens and resume cursors.

A job token carries the job's spec; a cursor carries a position in one job.
Both are itsdangerous timestamped signatures with a salt per purpose, so a
cursor can never pass as a job token or the other way round. The payloads are
compact JSON lists (not objects) to keep a cursor short: a browser sends a
CORS preflight before a cross-origin reconnect whose ``Last-Event-ID`` is over
128 bytes.

itsdangerous signs with the *last* key it is given and verifies with all, so
the configured list (first key signs) is handed over reversed.

What a validly signed token holds is checked as hostile input all the same (a
leaked or test key, a bug in an older replica): its date, the size and depth
of its JSON, and every field's type and range, each a 400 (never a 500, never a
value that hangs or crashes a step later). The date is checked here rather
than by itsdangerous, which calls a token dated a second in the future (a
replica whose clock is ahead) expired, and crashes on one dated in 2^60.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import (
    BadData,
    BadSignature,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
    base64_decode,
    base64_encode,
)
from itsdangerous.encoding import bytes_to_int, int_to_bytes, want_bytes

from app.errors import InvalidToken, TokenExpired

JOB_SALT = "stepstream.job"
CURSOR_SALT = "stepstream.cursor"
_CURSOR_DEFAULTS = (0, None, 0)
_ZLIB_WORTH_TRYING = 64
"""JSON bytes under which zlib's header and checksum outweigh what it saves."""
MAX_TOKEN_CHARS = 16384
MAX_JOB_JSON = 1024 * 1024
"""A job token's JSON, inflated: no bigger than the request body it came from."""
MAX_CURSOR_JSON = 8192
"""A cursor's JSON, inflated: it travels in a header and a URL, which proxies cap at 8 KiB."""
MAX_STEPS = 10**9
"""Bound on a cursor's ``next`` and ``failed``: far above any kind's total."""
MAX_CLOCK_SKEW = 60
"""Seconds a token may be dated in the future: replicas' clocks are never quite equal."""
_MAX_INT_CHARS = 20
"""JSON integers up to 19 digits and a sign: 64-bit ids fit, 10**400 does not."""
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KIND_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
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
        self._job_signer = self._jobs.make_signer()
        self._cursor_checker = self._cursors.make_signer()
        self._cursor_signer = _CursorSigner(self._cursor_checker, clock)  # type: ignore[arg-type]
        self._max_age = max_age
        self._clock = clock

    def dump_job(self, spec: JobSpec) -> str:
        return self._jobs.dumps([spec.id, spec.kind, spec.params])

    def load_job(self, token: str) -> JobSpec:
        payload = self._load(self._job_signer, token, "job token", MAX_JOB_JSON)
        match payload:
            case [str(job_id), str(kind), dict(params)]:
                if _JOB_ID.fullmatch(job_id) and _KIND_NAME.fullmatch(kind):
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
        payload = self._load(self._cursor_checker, token, "cursor", MAX_CURSOR_JSON)
        match payload:
            case [str(owner), int(position), *rest] if len(rest) <= 3:
                padded: list[Any] = [*rest, *_CURSOR_DEFAULTS[len(rest) :]]
                failed, state, final = padded
            case _:
                raise InvalidToken("The cursor's content is malformed.")
        # type() rather than isinstance(): true and false are ints to Python.
        if not (
            type(position) is int
            and 0 <= position <= MAX_STEPS
            and type(failed) is int
            and 0 <= failed <= position
            and type(final) is int
            and final in (0, 1)
        ):
            raise InvalidToken("The cursor's content is malformed.")
        if owner != job_id:
            raise InvalidToken("This cursor belongs to another job.")
        return Cursor(owner, position, failed, state, bool(final))

    def _load(self, signer: Signer, token: str, what: str, max_json: int) -> Any:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken(f"The {what} is too long.")
        try:
            payload, signed_at, signature = _parts(token)
            if base64_encode(base64_decode(signature)).decode() != signature:
                # The last base64 character has spare bits: without this check
                # a token altered there would still pass.
                raise BadSignature("signature not in canonical form")
            signer.unsign(token)  # the signature only: the date is checked below
            age = int(self._clock()) - bytes_to_int(base64_decode(signed_at))
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidToken(f"The {what} is malformed or has been tampered with.") from exc
        if age < -MAX_CLOCK_SKEW:
            raise InvalidToken(f"The {what} is dated in the future.")
        if age > int(self._max_age):
            raise TokenExpired(f"The {what} has expired; start the job again.")
        try:
            return _json_of(payload, max_json)
        except (ValueError, zlib.error, RecursionError) as exc:
            raise InvalidToken(f"The {what}'s content is malformed.") from exc


def _parts(token: str) -> tuple[str, str, str]:
    """``payload.timestamp.signature``; a compressed payload starts with a dot of its own."""
    rest, _, signature = token.rpartition(".")
    payload, _, signed_at = rest.rpartition(".")
    return payload, signed_at, signature


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_INT_CHARS:
        raise ValueError("integer too large")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number too large")
    return value


def _json_of(payload: str, max_json: int) -> Any:
    """The payload's JSON: inflated at most ``max_json`` bytes, strict numbers only."""
    compressed = payload.startswith(".")
    data = base64_decode(payload[1:] if compressed else payload)
    if compressed:
        inflater = zlib.decompressobj()
        data = inflater.decompress(data, max_json + 1)
        if not inflater.eof:
            raise ValueError("compressed payload too large or truncated")
    if len(data) > max_json:
        raise ValueError("payload too large")
    return json.loads(
        data,
        parse_int=_bounded_int,
        parse_float=_finite_float,
        parse_constant=_refuse_constant,
    )
