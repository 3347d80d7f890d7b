"""The token codec: round trips, refusals, rotation, expiry with an injected clock."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from app.errors import InvalidToken, TokenExpired
from app.tokens import (
    CURSOR_SALT,
    Cursor,
    JobSpec,
    TokenCodec,
    derived_job_id,
    random_job_id,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec(keys: list[str] | None = None, clock: Clock | None = None) -> TokenCodec:
    return TokenCodec(keys or ["k1"], max_age=3600, clock=clock or Clock())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
cursors = st.builds(
    Cursor,
    job_id=st.text(min_size=1, max_size=16),
    next=st.integers(0, 100_000),
    state=json_values,
    final=st.booleans(),
).flatmap(
    lambda c: st.builds(
        Cursor,
        st.just(c.job_id),
        st.just(c.next),
        st.integers(0, c.next),
        st.just(c.state),
        st.just(c.final),
    )
)


@given(cursors)
def test_cursor_round_trips(cursor: Cursor) -> None:
    tokens = codec()
    assert tokens.load_cursor(tokens.dump_cursor(cursor), cursor.job_id) == cursor


@given(
    st.text(min_size=1, max_size=16),
    st.text(min_size=1, max_size=16),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)
def test_job_round_trips(job_id: str, kind: str, params: dict) -> None:
    tokens = codec()
    spec = JobSpec(job_id, kind, params)
    assert tokens.load_job(tokens.dump_job(spec)) == spec


@given(st.data())
def test_any_change_to_a_cursor_is_refused(data: st.DataObject) -> None:
    tokens = codec()
    token = tokens.dump_cursor(Cursor("job", 3, 1, {"a": 1}))
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    with pytest.raises(InvalidToken):
        tokens.load_cursor(tampered, "job")


@given(st.text(max_size=200))
def test_garbage_is_refused_as_invalid(garbage: str) -> None:
    tokens = codec()
    with pytest.raises(InvalidToken):
        tokens.load_cursor(garbage, "job")
    with pytest.raises(InvalidToken):
        tokens.load_job(garbage)


def test_cursor_of_another_job_is_refused() -> None:
    tokens = codec()
    with pytest.raises(InvalidToken, match="another job"):
        tokens.load_cursor(tokens.dump_cursor(Cursor("job-a", 1)), "job-b")


def test_a_cursor_is_not_a_job_token_and_back() -> None:
    """Separate salts: one kind of token never passes for the other."""
    tokens = codec()
    job_token = tokens.dump_job(JobSpec("job", "sleep", {}))
    cursor_token = tokens.dump_cursor(Cursor("job", 1))
    with pytest.raises(InvalidToken):
        tokens.load_cursor(job_token, "job")
    with pytest.raises(InvalidToken):
        tokens.load_job(cursor_token)


def test_tokens_signed_with_another_secret_are_refused() -> None:
    token = codec(["other"]).dump_cursor(Cursor("job", 1))
    with pytest.raises(InvalidToken):
        codec(["k1"]).load_cursor(token, "job")


def test_key_rotation_first_key_signs_all_verify() -> None:
    old = codec(["old"])
    rotated = codec(["new", "old"])
    old_token = old.dump_cursor(Cursor("job", 2))
    assert rotated.load_cursor(old_token, "job") == Cursor("job", 2)
    new_token = rotated.dump_cursor(Cursor("job", 3))
    assert codec(["new"]).load_cursor(new_token, "job") == Cursor("job", 3)
    with pytest.raises(InvalidToken):
        old.load_cursor(new_token, "job")


def test_expiry_uses_the_clock() -> None:
    clock = Clock()
    tokens = codec(clock=clock)
    cursor = tokens.dump_cursor(Cursor("job", 1))
    job = tokens.dump_job(JobSpec("job", "sleep", {}))
    clock.now += 3600
    assert tokens.load_cursor(cursor, "job").next == 1
    clock.now += 2
    with pytest.raises(TokenExpired):
        tokens.load_cursor(cursor, "job")
    with pytest.raises(TokenExpired):
        tokens.load_job(job)


@pytest.mark.parametrize(
    "payload",
    [
        ["job"],
        ["job", -1],
        ["job", "1"],
        ["job", 1, 2],  # more failures than steps
        ["job", 1, 0, None, 7],
        ["job", 1, 0, None, 1, "extra"],
        {"job": 1},
        [1, 1],
    ],
)
def test_well_signed_but_malformed_cursors_are_refused(payload: object) -> None:
    tokens = codec()
    token = tokens._cursors.dumps(payload)
    with pytest.raises(InvalidToken, match="malformed"):
        tokens.load_cursor(token, "job")


def test_sleep_cursor_stays_short() -> None:
    """Over 128 bytes, a cross-origin EventSource reconnect needs a CORS preflight."""
    tokens = codec()
    job_id = random_job_id()
    for cursor in (Cursor(job_id, 99_999, 99_999), Cursor(job_id, 100_000, 5, final=True)):
        assert len(tokens.dump_cursor(cursor)) <= 128


def test_derived_job_id_depends_on_kind_and_params_only() -> None:
    assert derived_job_id("sleep", {"steps": 5, "wait": 1.0}) == derived_job_id(
        "sleep", {"wait": 1.0, "steps": 5}
    )
    assert derived_job_id("sleep", {"steps": 5}) != derived_job_id("sleep", {"steps": 6})
    assert derived_job_id("sleep", {}) != derived_job_id("other", {})
    assert random_job_id() != random_job_id()


def test_the_fast_cursor_signer_signs_as_itsdangerous_does() -> None:
    """Cursors are signed by our own copy of the HMAC step (the hot path): same bytes."""
    clock = lambda: 1_800_000_123.9  # noqa: E731
    codec = TokenCodec(["new", "old"], max_age=60, clock=clock)

    class AtThatSecond(TimestampSigner):
        def get_timestamp(self) -> int:
            return 1_800_000_123

    reference_signer = AtThatSecond("new", salt=CURSOR_SALT, digest_method=hashlib.sha256)
    for cursor in (Cursor("j", 3), Cursor("j", 3, 1, {"a": [1, 2]}), Cursor("j", 9, final=True)):
        token = codec.dump_cursor(cursor)
        payload = token.rsplit(".", 2)[0]
        assert reference_signer.sign(payload).decode() == token
        assert codec.load_cursor(token, "j") == cursor
