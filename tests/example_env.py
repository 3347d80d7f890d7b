"""What the example's tests stand on: its server's virtualenv, the slow API it calls,
and a server run from that virtualenv. Test modules import the fixtures by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, Server
from tests.slow_api import SlowApi
from tests.venvs import virtualenv

EXAMPLE = ROOT / "examples" / "lookup"


@pytest.fixture(scope="module", name="server_venv")
def server_venv_fixture() -> Path:
    """The project and the example, no client extra: what a server machine has."""
    return virtualenv("example-server", packages=[EXAMPLE])


@pytest.fixture(name="api")
def api_fixture() -> Iterator[SlowApi]:
    with SlowApi(delay=0.3) as running:
        yield running


def serve(venv: Path, output_dir: Path, **env: str) -> Server:
    settings = {"STEPSTREAM_HEARTBEAT": "1", **env}
    return Server(settings, log_path=output_dir / "server.log", python=venv / "bin" / "python")
