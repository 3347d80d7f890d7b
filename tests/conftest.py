from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A folder per test under test-output/, for logs and screenshots a person can look at."""
    path: Path = Path(__file__).resolve().parent.parent / "test-output" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def server(output_dir: Path) -> Iterator[Server]:
    """A real uvicorn on a free loopback port, with a one-second heartbeat."""
    with Server({"STEPSTREAM_HEARTBEAT": "1"}, log_path=output_dir / "server.log") as running:
        yield running


@pytest.fixture
def replicas(output_dir: Path) -> Iterator[list[Server]]:
    """Two replicas with one secret (the harness's), as a deployment runs them."""
    servers = [
        Server({"STEPSTREAM_HEARTBEAT": "1"}, log_path=output_dir / f"replica{n}.log")
        for n in (1, 2)
    ]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
