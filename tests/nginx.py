"""A real nginx running the shipped nginx.conf, for the tests.

The rendered config keeps every directive of the shipped one; only the listen
port, the upstream server addresses, the static root and the log paths are
substituted; a test that needs another value (a 3 s ``proxy_read_timeout``)
or a deliberately broken config (a negative control) names the exact
directives it changes in ``changes``. nginx's own
files (pid, temp folders, logs) go under the test's output folder.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.servers import ROOT, Server, free_port, wait_until

NGINX = "/usr/sbin/nginx"
SHIPPED = ROOT / "nginx.conf"
UPSTREAM_LINE = re.compile(r"^(?P<indent>[ \t]*)server app\d+:8000(?P<params>[^;]*);\n", re.M)
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def require_nginx() -> str:
    if shutil.which("nginx") is None and not Path(NGINX).exists():
        pytest.skip("nginx is not installed: run scripts/install --test (it apt-gets nginx)")
    return shutil.which("nginx") or NGINX


def _substitute(text: str, directive: str, replacement: str, count: int = 1) -> str:
    """Replace exactly ``count`` directives (not comments) whose text matches ``directive``:
    fail loudly when the shipped config changed shape."""
    pattern = rf"^(?P<indent>[ \t]*){directive}"
    new, found = re.subn(pattern, lambda m: m["indent"] + replacement, text, flags=re.M)
    if found != count:
        raise AssertionError(f"nginx.conf: expected {count} of {directive!r}, found {found}")
    return new


def render(
    upstreams: Sequence[str],
    directory: Path,
    port: int,
    changes: Mapping[str, str] | None = None,
) -> str:
    """The shipped nginx.conf with this test's addresses and paths filled in."""
    text = SHIPPED.read_text()
    lines = UPSTREAM_LINE.findall(text)
    if len(lines) < 2:
        raise AssertionError("nginx.conf: expected an upstream of two or more replicas")
    indent, params = lines[0]
    servers = "".join(f"{indent}server {address}{params};\n" for address in upstreams)
    text = UPSTREAM_LINE.sub(lambda _: "", text, count=len(lines) - 1)
    text = UPSTREAM_LINE.sub(lambda _: servers, text, count=1)
    text = _substitute(text, r"listen 80;", f"listen 127.0.0.1:{port};")
    text = _substitute(text, r"root /srv/stepstream/static;", f"root {ROOT / 'static'};")
    text = _substitute(text, r"error_log \S+", f"error_log {directory / 'error.log'}")
    text = _substitute(text, r"access_log \S+", f"access_log {directory / 'access.log'}")
    temp = "".join(f"    {name}_temp_path {directory / 'temp' / name};\n" for name in TEMP_PATHS)
    text = _substitute(text, r"http \{\n", "http {\n" + temp)
    for directive, replacement in (changes or {}).items():
        count = text.count(directive)
        assert count, f"nginx.conf has no {directive!r} to change"
        text = _substitute(text, re.escape(directive), replacement, count)
    return text


def upstream(server: Server) -> str:
    """A replica's address as an upstream ``server`` line takes it."""
    return f"{server.host}:{server.port}"


class Nginx:
    """``nginx`` in the foreground with its own prefix, in front of ``upstreams``."""

    def __init__(
        self,
        upstreams: Sequence[str],
        directory: Path,
        changes: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = require_nginx()
        self.directory = directory / "nginx"
        shutil.rmtree(self.directory, ignore_errors=True)  # no logs of an earlier run
        (self.directory / "temp").mkdir(parents=True)
        self.port = free_port()
        self.config = self.directory / "nginx.conf"
        self.config.write_text(render(upstreams, self.directory, self.port, changes))
        self.access_log = self.directory / "access.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self, *extra: str) -> list[str]:
        pid = self.directory / "nginx.pid"
        return [
            self.binary,
            "-p", str(self.directory),
            "-e", str(self.directory / "error.log"),
            "-c", str(self.config),
            "-g", f"daemon off; pid {pid};",
            *extra,
        ]  # fmt: skip

    def check(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t``: the config parses and every file it names can be opened."""
        return subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)

    def start(self, timeout: float = 15) -> Nginx:
        with open(self.directory / "stderr.log", "ab") as log:
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._listening, timeout, what=f"nginx on {self.url}")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx exited with {self.process.returncode}; see {self.directory}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM is nginx's fast shutdown: it does not wait for open streams."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def logged(self) -> list[tuple[str, str]]:
        """``(request line, upstream)`` of every request logged so far, oldest first.
        nginx logs a request after its answer is sent: poll for a line you expect."""
        if not self.access_log.exists():
            return []
        pattern = r'"(\S+ \S+) HTTP/[\d.]+" .* upstream=(.*)$'
        return re.findall(pattern, self.access_log.read_text(), flags=re.M)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
