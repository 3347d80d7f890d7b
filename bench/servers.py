"""Benchmark servers in their own processes, and what /proc says about them."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench.probe import REPORT_ENV, HeapReport

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-secret-key-not-for-production"
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchServer:
    """``python -m bench.serve APP PORT`` with the given environment, and its heap reports."""

    def __init__(self, app: str, env: Mapping[str, str], http: str = "httptools") -> None:
        self.app = app
        self.http = http
        self.port = free_port()
        self._folder = Path(tempfile.mkdtemp(prefix="bench-server-"))
        self._report = self._folder / "heap.json"
        self._reports = 0
        self.env = {"STEPSTREAM_SECRET_KEY": BENCH_SECRET, REPORT_ENV: str(self._report), **env}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchServer:
        command = [sys.executable, "-m", "bench.serve", self.app, str(self.port), self.http]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **self.env})
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"{self.app} did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    async def heap_report(self, timeout: float = 60) -> HeapReport:
        """Asks the server for its heap report and waits for that one to be written."""
        self._reports += 1
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while (report := self._read_report()) is None or report.report < self._reports:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.app}: no heap report after {timeout} s")
            await asyncio.sleep(0.02)
        return report

    def _read_report(self) -> HeapReport | None:
        try:
            return HeapReport.parse(json.loads(self._report.read_text()))
        except FileNotFoundError:
            return None
