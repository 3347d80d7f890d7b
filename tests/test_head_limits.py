"""Request heads: how big, and how slow. uvicorn (the shipped command's httptools)
took a 256 MiB header and waited forever for a half-sent head, so the shipped
nginx.conf keeps both limits; each test here runs it for real in front of a
real replica, with a negative control that changes only the directive under test."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.nginx import Nginx, upstream
from tests.servers import Server, wait_until

pytestmark = pytest.mark.nginx

HEAD_BUFFERS = "large_client_header_buffers 4 16k;"
HEAD_TIMEOUT = "client_header_timeout 10s;"


@contextmanager
def shipped_nginx(output_dir: Path, changes: dict[str, str]) -> Iterator[Nginx]:
    """The shipped nginx.conf, with ``changes``, in front of one real replica."""
    with (
        Server(log_path=output_dir / "replica.log") as server,
        Nginx([upstream(server)], output_dir, changes) as nginx,
    ):
        yield nginx


def status_of(port: int, head: bytes) -> int | None:
    """The status nginx answers ``head`` with, or None when it closes without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        try:
            sock.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the head was through: what it said, if anything, is below
        try:
            answer = sock.recv(64)
        except ConnectionResetError:
            return None
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None


@pytest.mark.parametrize(
    ("changes", "refused"),
    [({}, True), ({HEAD_BUFFERS: "large_client_header_buffers 4 2m;"}, False)],
    ids=["shipped", "2m-buffers"],
)
def test_a_1_mib_header_is_refused_by_the_proxy(
    output_dir: Path, changes: dict[str, str], refused: bool
) -> None:
    """A 1 MiB header never reaches the replica (which would take it: +393 MB RSS for
    256 MiB); with 2 MiB buffers (the negative control) it does, and gets a 200."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1024 * 1024 + b"\r\n\r\n"
    with shipped_nginx(output_dir, changes) as nginx:
        status = status_of(nginx.port, head)
    assert status in ((400, 414, 431, None) if refused else (200,)), status


@pytest.mark.parametrize(
    ("changes", "passes"),
    [({}, True), ({HEAD_BUFFERS: "large_client_header_buffers 4 8k;"}, False)],
    ids=["shipped", "nginx-default-8k"],
)
def test_an_8_kib_events_url_reaches_the_replica(
    output_dir: Path, changes: dict[str, str], passes: bool
) -> None:
    """A job token at STEPSTREAM_MAX_TOKEN_BYTES (6000) and a cursor in the query make an
    events URL over 8 KiB: nginx's default buffers answered 414 before the replica saw it.
    The made-up token is the replica's own JSON 400, which proves it got there."""
    path = f"/api/jobs/{'A' * 6000}/events?last_event_id={'B' * 2200}"
    assert len(path) > 8192
    with shipped_nginx(output_dir, changes) as nginx:
        answer = httpx.get(nginx.url + path, timeout=15)
    if passes:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_token"
    else:
        assert answer.status_code == 414


SLOW_CLIENTS = 12


def open_slow_clients(port: int) -> list[socket.socket]:
    """Half of them send part of a head and stop; the other half send nothing at all."""
    clients = []
    for index in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if index % 2 == 0:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.setblocking(False)
        clients.append(sock)
    return clients


def closed(sock: socket.socket) -> bool:
    """True once the peer has closed (any answer it sent first is read and dropped)."""
    while select.select([sock], [], [], 0)[0]:
        try:
            if not sock.recv(4096):
                return True
        except ConnectionResetError:
            return True
    return False


def test_half_sent_heads_are_dropped_within_seconds(output_dir: Path) -> None:
    """1,100 half-sent requests locked every new client out of the shipped command,
    which never times one out. Behind the shipped nginx.conf each is dropped after
    10 s while other clients are served; with 60 s (the negative control, side by side)
    the same clients are all still connected when that has happened."""
    with (
        Server(log_path=output_dir / "replica.log") as server,
        Nginx([upstream(server)], output_dir / "shipped") as nginx,
        Nginx(
            [upstream(server)], output_dir / "lenient", {HEAD_TIMEOUT: "client_header_timeout 60s;"}
        ) as lenient,
    ):
        opened = time.monotonic()
        slow = open_slow_clients(nginx.port)
        slow_elsewhere = open_slow_clients(lenient.port)
        try:
            assert httpx.get(f"{nginx.url}/healthz", timeout=5).status_code == 200
            wait_until(lambda: all(closed(sock) for sock in slow), 20, what="slow clients dropped")
            took = time.monotonic() - opened
            assert not any(closed(sock) for sock in slow_elsewhere)
        finally:
            for sock in slow + slow_elsewhere:
                sock.close()
    assert 9 <= took <= 15, took
