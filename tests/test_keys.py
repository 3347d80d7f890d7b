"""Signing keys: from the environment, or generated once into a 0600 file."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from app.keys import load_secret_keys
from app.settings import Settings
from tests.servers import Server
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
