"""The token codec: round trips, refusals, rotation, expiry with an injected clock."""

from __future__ import annotations

import hashlib
import json
import zlib

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer, TimestampSigner, base64_encode

from app.errors import InvalidToken, TokenExpired
from app.tokens import (
    CURSOR_SALT,
    JOB_SALT,
    Cursor,
    JobSpec,
    TokenCodec,
    derived_job_id,
    random_job_id,
)
from tests.servers import TEST_SECRET, Server

NOW = 1_800_000_000


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec(keys: list[str] | None = None, clock: Clock | None = None) -> TokenCodec:
    return TokenCodec(keys or ["k1"], max_age=3600, clock=clock or Clock())


job_ids = st.text("abcXYZ019_-", min_size=1, max_size=64)
kind_names = st.from_regex(r"[a-z][a-z0-9_-]{0,39}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
cursors = st.builds(
    Cursor,
    job_id=job_ids,
    next=st.integers(0, 10**9),
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


@given(job_ids, kind_names, st.dictionaries(st.text(max_size=8), json_values, max_size=5))
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


def forge(
    raw: bytes, salt: str, *, signed_at: int = NOW, compress: bool = False, key: str = "k1"
) -> str:
    """A token signed with the test codec's key over any bytes at any date: what
    whoever holds a leaked key can send (TimestampSigner's layout, built by hand so
    that any date fits)."""
    payload = b"." + base64_encode(zlib.compress(raw)) if compress else base64_encode(raw)
    date = base64_encode(signed_at.to_bytes((signed_at.bit_length() + 7) // 8 or 1, "big"))
    signer = Signer(key, salt=salt, digest_method=hashlib.sha256)
    return signer.sign(payload + b"." + date).decode()


def forge_cursor(payload: object, **kwargs) -> str:
    return forge(json.dumps(payload).encode(), CURSOR_SALT, **kwargs)


def forge_job(payload: object, **kwargs) -> str:
    return forge(json.dumps(payload).encode(), JOB_SALT, **kwargs)


def test_forged_tokens_load_when_their_content_is_sound() -> None:
    """The forger below makes tokens the codec accepts: the refusals that follow are
    about content, not about a bad signature."""
    assert codec().load_cursor(forge_cursor(["job", 3, 1, {"a": 1}, 1]), "job") == Cursor(
        "job", 3, 1, {"a": 1}, True
    )
    assert codec().load_job(forge_job(["job", "sleep", {}], compress=True)) == JobSpec(
        "job", "sleep", {}
    )


@pytest.mark.parametrize("signed_at", [2**60, 2**64 - 1, NOW + 61])
def test_a_token_dated_in_the_future_is_a_400(signed_at: int) -> None:
    """2**60 gave a 500 (OverflowError deep in itsdangerous). A token from the future is
    not expired (410 would tell the client to start again): it is invalid, a 400."""
    tokens = codec()
    with pytest.raises(InvalidToken, match="future"):
        tokens.load_cursor(forge_cursor(["job", 1], signed_at=signed_at), "job")
    with pytest.raises(InvalidToken, match="future"):
        tokens.load_job(forge_job(["job", "sleep", {}], signed_at=signed_at))


def test_a_date_longer_than_eight_bytes_is_malformed() -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        codec().load_cursor(forge_cursor(["job", 1], signed_at=2**200), "job")


def test_a_replica_whose_clock_is_a_little_ahead_is_believed() -> None:
    """itsdangerous calls a token dated one second ahead expired: a resume on a
    replica whose clock is behind got a 410."""
    ahead = codec(clock=Clock(NOW + 30))
    behind = codec(clock=Clock(NOW))
    token = ahead.dump_cursor(Cursor("job", 2))
    assert behind.load_cursor(token, "job") == Cursor("job", 2)
    assert behind.load_job(ahead.dump_job(JobSpec("job", "sleep", {}))).kind == "sleep"


def test_a_token_dated_long_ago_is_expired() -> None:
    with pytest.raises(TokenExpired):
        codec().load_cursor(forge_cursor(["job", 1], signed_at=0), "job")


HOSTILE_CURSORS = [
    ["job", True],  # a bool is an int to Python
    ["job", 1, False],
    ["job", 1, 0, None, True],
    ["job", 1.0],
    ["job", 10**9 + 1],
    ["job", 10**18, 10**18],
    ["job", 1, -1],
    ["job", 1, 0, None, 2],
    ["job", 1, 0, None, "1"],
    ["job", None],
    [None, 1],
    ["job"] + [0] * 5,
    "job",
    None,
]


@pytest.mark.parametrize("payload", HOSTILE_CURSORS, ids=repr)
def test_hostile_cursor_fields_are_400(payload: object) -> None:
    """Every field of a validly signed cursor is type- and range-checked."""
    with pytest.raises(InvalidToken, match="malformed"):
        codec().load_cursor(forge_cursor(payload), "job")


HOSTILE_JOBS = [
    ["job", "sleep", []],
    ["job", "sleep", None],
    ["job", "Sleep", {}],
    ["job", "9sleep", {}],
    ["job", "s" * 41, {}],
    ["job", "sleep/../x", {}],
    ["", "sleep", {}],
    ["j" * 65, "sleep", {}],
    ["job id", "sleep", {}],
    ["job\n", "sleep", {}],
    [1, "sleep", {}],
    [True, "sleep", {}],
    ["job", "sleep", {}, "extra"],
    ["job", "sleep"],
    {"id": "job"},
]


@pytest.mark.parametrize("payload", HOSTILE_JOBS, ids=repr)
def test_hostile_job_fields_are_400(payload: object) -> None:
    """A job id is [A-Za-z0-9_-]{1,64}, a kind name [a-z][a-z0-9_-]{0,39}, params an object."""
    with pytest.raises(InvalidToken, match="malformed"):
        codec().load_job(forge_job(payload))


HOSTILE_JSON = [
    b'["job", 1, 0, {"not_before": 1e400}]',  # float("inf")
    b'["job", 1, 0, {"not_before": Infinity}]',
    b'["job", 1, 0, {"not_before": -Infinity}]',
    b'["job", 1, 0, NaN]',
    b'["job", 1, 0, ' + str(10**400).encode() + b"]",
    b'["job", 1, 0, ' + b"9" * 5000 + b"]",  # past Python's int-from-string limit
    b'["job", ' + str(10**400).encode() + b"]",
    b'["job", 1, 0, ' + b"[" * 5000 + b"]" * 5000 + b"]",  # RecursionError
    b'["job", 1, 0, "' + b"x" * 9000 + b'"]',  # state over MAX_CURSOR_JSON
    b'["job", 1, 0, {"a": 1',  # truncated
    b"\xff\xfe",
]


@pytest.mark.parametrize("raw", HOSTILE_JSON, ids=lambda raw: repr(raw[:40]))
@pytest.mark.parametrize("compress", [False, True])
def test_hostile_cursor_json_is_400(raw: bytes, compress: bool) -> None:
    """Non-finite numbers, huge ints (10**400 crashed a step), deep or oversized state:
    refused when the cursor is read, never a crash later."""
    with pytest.raises(InvalidToken, match="malformed"):
        codec().load_cursor(forge(raw, CURSOR_SALT, compress=compress), "job")


def test_a_compressed_payload_is_inflated_only_up_to_its_bound() -> None:
    """A 14 KB token of zeros inflates to 10 MB: inflation stops at the bound."""
    bomb = b'["job", 1, 0, "' + b"0" * 10_000_000 + b'"]'
    token = forge(bomb, CURSOR_SALT, compress=True)
    assert len(token) < 16384
    with pytest.raises(InvalidToken, match="malformed"):
        codec().load_cursor(token, "job")


def test_a_64_bit_integer_in_state_is_kept() -> None:
    state = {"since_id": 2**63 - 1, "low": -(2**63)}
    assert codec().load_cursor(forge_cursor(["job", 1, 0, state]), "job").state == state


def test_a_token_over_the_length_cap_is_refused_unread() -> None:
    token = forge_cursor(["job", 1, 0, "x" * 20_000])
    with pytest.raises(InvalidToken, match="too long"):
        codec().load_cursor(token, "job")


def test_a_real_server_answers_hostile_signed_tokens_with_400(server: Server) -> None:
    """What a client with a leaked key sees: a JSON 400 before any stream starts, where a
    token dated 2**60 was a 500 and a cursor carrying 10**400 crashed the step."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        job = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 3, "wait": 0}})
        job_id = job.json()["id"]
        far_future = forge(
            json.dumps([job_id, "sleep", {"steps": 3, "wait": 0}]).encode(),
            JOB_SALT,
            signed_at=2**60,
            key=TEST_SECRET,
        )
        answers = [client.get(f"/api/jobs/{far_future}/events")]
        for payload in ([job_id, 1, 0, 10**400], [job_id, True], [job_id, 1, 0, None, 1.0]):
            cursor = forge(json.dumps(payload).encode(), CURSOR_SALT, key=TEST_SECRET)
            events_url = job.json()["events_url"]
            answers.append(client.get(events_url, headers={"Last-Event-ID": cursor}))
            answers.append(client.post(job.json()["steps_url"], json={"cursor": cursor}))
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_token"
