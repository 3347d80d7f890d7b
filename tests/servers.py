"""Real uvicorn processes on loopback ports, for everything a client sees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-key-not-for-production"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Server:
    """``uvicorn app.main:app`` in its own process, started and stopped for real."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        app: str = "app.main:app",
        health_path: str = "/healthz",
        python: Path | str = sys.executable,
    ) -> None:
        self.app = app
        self.python = str(python)  # another virtualenv's, to serve what is installed there
        self.health_path = health_path
        self.host = host
        self.port = port or free_port(host)
        self.env = {
            "STEPSTREAM_SECRET_KEY": TEST_SECRET,
            "STEPSTREAM_HEARTBEAT": "15",
            **(env or {}),
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 20) -> Server:
        command = [self.python, "-m", "uvicorn", self.app]
        command += ["--host", self.host, "--port", str(self.port), "--no-access-log"]
        command += ["--timeout-graceful-shutdown", "10"]
        env = {**os.environ, **self.env}
        if self.log_path is None:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        wait_until(self._healthy, timeout, what=f"server on {self.url}")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"server exited with {self.process.returncode}")
        try:
            return httpx.get(f"{self.url}{self.health_path}", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crash or an OOM kill."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def terminate(self) -> float:
        """SIGTERM and wait for the exit; returns how long the exit took."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        return time.monotonic() - started

    def stop(self) -> None:
        """SIGTERM, so the process writes its coverage data; SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
