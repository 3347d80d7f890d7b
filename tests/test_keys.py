"""Signing keys: from the environment, or generated once into a 0600 file."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import stat
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.keys import KeyFileError, load_secret_keys
from app.settings import Settings
from tests.servers import Server, wait_until
from tests.sse import collect, steps_of


def test_keys_come_from_a_comma_separated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPSTREAM_SECRET_KEY", "new, old,,")
    assert load_secret_keys(Settings()) == ["new", "old"]


def test_a_generated_key_is_kept_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secret_key"
    settings = Settings(secret_key=[], secret_key_file=path)
    first = load_secret_keys(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_keys(settings) == first
    assert len(first[0]) >= 32


@pytest.mark.anyio
async def test_a_restart_without_a_secret_still_resumes(tmp_path: Path, output_dir: Path) -> None:
    env = {"STEPSTREAM_SECRET_KEY": "", "STEPSTREAM_SECRET_KEY_FILE": str(tmp_path / "key")}
    url = "/api/sleep/events?steps=4&wait=0"
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            _, first = await collect(client, url, stop_after_steps=2)
    with Server(env, log_path=output_dir / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            _, rest = await collect(client, url, last_event_id=first[-1].id)
    assert steps_of(first) + steps_of(rest) == [0, 1, 2, 3]
    assert str(tmp_path / "key") in (output_dir / "server.log").read_text()


def test_an_existing_empty_file_gets_the_key_and_mode_0600(tmp_path: Path) -> None:
    """An empty file made by ``touch`` (0644) kept its mode after the key went in."""
    path = tmp_path / "secret_key"
    path.touch(mode=0o644)
    path.chmod(0o644)
    [key] = load_secret_keys(Settings(secret_key=[], secret_key_file=path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key + "\n"


def test_a_key_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("an-old-key\n")
    path.chmod(0o644)
    assert load_secret_keys(Settings(secret_key=[], secret_key_file=path)) == ["an-old-key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("target_exists", [True, False])
def test_a_symlink_at_the_key_path_is_refused(tmp_path: Path, target_exists: bool) -> None:
    """The key path was followed through a symlink: whoever could plant one chose
    which file got the key (or which file's content became the key)."""
    target = tmp_path / "elsewhere"
    if target_exists:
        target.write_text("not a key\n")
        target.chmod(0o644)
    path = tmp_path / "secret_key"
    path.symlink_to(target)
    with pytest.raises(KeyFileError, match="symlink"):
        load_secret_keys(Settings(secret_key=[], secret_key_file=path))
    if target_exists:
        assert target.read_text() == "not a key\n"
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
    else:
        assert not target.exists()


def test_parents_are_made_0700_under_umask_000(tmp_path: Path) -> None:
    """``~/.local`` came out 0777 under umask 000 (``mkdir(parents=True)``)."""
    path = tmp_path / "home" / ".local" / "state" / "stepstream" / "secret_key"
    old = os.umask(0)
    try:
        load_secret_keys(Settings(secret_key=[], secret_key_file=path))
    finally:
        os.umask(old)
    for directory in (path.parent, *list(path.parents)[1:4]):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _waiting_for_lock(path: Path) -> bool:
    """True once some process or thread is blocked on a lock of ``path`` (/proc/locks)."""
    inode = f":{path.stat().st_ino}"
    with open("/proc/locks") as locks:
        return any("->" in line and inode in line for line in locks)


def test_a_key_being_written_is_waited_for_not_taken_for_no_key(tmp_path: Path) -> None:
    """A worker that found the winner's file still empty wrote a second key over it."""
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)
    result: list[str] = []
    with open(path, "r+") as winner:
        fcntl.flock(winner, fcntl.LOCK_EX)
        loser = threading.Thread(
            target=lambda: result.extend(
                load_secret_keys(Settings(secret_key=[], secret_key_file=path))
            )
        )
        loser.start()
        wait_until(lambda: _waiting_for_lock(path), 10, what="the loser to wait on the lock")
        winner.write("the-winners-key\n")
        winner.flush()
        fcntl.flock(winner, fcntl.LOCK_UN)
    loser.join(10)
    assert result == ["the-winners-key"]


WORKERS = 8
ROUNDS = 150


def _race(barrier: Any, paths: list[Path], results: Any) -> None:
    """One worker process: at each round, load the key at the very moment the others do."""
    for path in paths:
        barrier.wait(timeout=60)
        [key] = load_secret_keys(Settings(secret_key=[], secret_key_file=path))
        results.put((str(path), key))


def test_workers_started_at_once_all_end_with_one_key(tmp_path: Path) -> None:
    """8 workers started at once ended, 1 time in 20, with two different keys (a resume
    on another worker then got 400). Real processes, released together by a barrier at
    each of 150 rounds, each round on a fresh path whose directories are missing too."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    paths = [tmp_path / f"round-{n}" / "state" / "secret_key" for n in range(ROUNDS)]
    workers = [
        context.Process(target=_race, args=(barrier, paths, results)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    keys: dict[str, set[str]] = {}
    try:
        for _ in range(WORKERS * ROUNDS):
            path, key = results.get(timeout=60)
            keys.setdefault(path, set()).add(key)
    finally:
        for worker in workers:
            worker.join(10)
    split = {path: found for path, found in keys.items() if len(found) != 1}
    assert not split, f"{len(split)} of {ROUNDS} rounds ended with several keys"
    for path in paths:
        assert keys[str(path)] == {path.read_text().strip()}


def test_a_key_path_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "a-file" / "state" / "secret_key"
    with pytest.raises(KeyFileError, match="cannot use .*a-file/state/secret_key"):
        load_secret_keys(Settings(secret_key=[], secret_key_file=path))


def test_a_key_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_bytes(b"\xff\xfe\x00")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="cannot use"):
        load_secret_keys(Settings(secret_key=[], secret_key_file=path))
