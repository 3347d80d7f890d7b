"""Real HAProxy, Caddy, Apache httpd and Varnish running the configs shipped in
deploy/, for the tests.

As with nginx (tests/nginx.py), the rendered config keeps every directive of the
shipped one: only the listen address, the replicas' addresses and the paths of
logs and run files are substituted, plus, when a test asks for it, the one
directive that sets the proxy's idle limit, or every occurrence of the exact
lines a test changes (a negative control, a shorter timeout). Every substitution must match
exactly as often as expected, so a shipped config that changed shape fails
loudly instead of being tested half-rendered.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.servers import ROOT, free_port, wait_until

DEPLOY = ROOT / "deploy"


def substitute(text: str, old: str, new: str, count: int = 1) -> str:
    """``text`` with ``old`` replaced by ``new``, which must occur exactly ``count`` times."""
    found = text.count(old)
    if found != count:
        raise AssertionError(f"expected {count} of {old!r} in the shipped config, found {found}")
    return text.replace(old, new)


class Proxy:
    """One proxy in the foreground with its own folder, in front of two replicas.

    A subclass names the shipped file, the binary, how to render the file and
    how to run it; ``idle_limit`` (seconds) replaces the shipped idle limit.
    """

    name: ClassVar[str]
    shipped: ClassVar[Path]
    binary: ClassVar[str]
    package: ClassVar[str]

    def __init__(
        self,
        upstreams: Sequence[str],
        directory: Path,
        idle_limit: int | None = None,
        changes: Mapping[str, str] | None = None,
    ) -> None:
        if not Path(self.binary).exists():
            pytest.skip(f"{self.binary} is missing: scripts/install --test apt-gets {self.package}")
        if len(upstreams) != 2:
            raise AssertionError("the shipped configs name two replicas, app1 and app2")
        self.directory = directory / self.name
        shutil.rmtree(self.directory, ignore_errors=True)  # no logs of an earlier run
        self.directory.mkdir(parents=True)
        self.port = free_port()
        text = self.render(self.shipped.read_text(), upstreams)
        if idle_limit is not None:
            text = self.limit_idle(text, idle_limit)
        for old, new in (changes or {}).items():
            text = substitute(text, old, new, count=max(1, text.count(old)))
        self.config = self.directory / self.shipped.name
        self.config.write_text(text)
        self.log = self.directory / "proxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self, text: str, upstreams: Sequence[str]) -> str:
        for number, address in enumerate(upstreams, start=1):
            text = substitute(text, f"app{number}:8000", address)
        return text

    def limit_idle(self, text: str, seconds: int) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def check_command(self) -> list[str]:
        """The proxy's own config check (``haproxy -c``, ``apache2 -t``...)."""
        raise NotImplementedError

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.check_command(),
            cwd=self.directory,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, timeout: float = 20) -> Proxy:
        """Start, and wait until a request through the proxy reaches a replica."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._routing, timeout, what=f"{self.name} on {self.url} to reach a replica")
        return self

    def _routing(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """SIGTERM to the whole process group (httpd and varnishd fork children)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HAProxy(Proxy):
    name = "haproxy"
    shipped = DEPLOY / "haproxy.cfg"
    binary = "/usr/sbin/haproxy"
    package = "haproxy"

    def render(self, text: str, upstreams: Sequence[str]) -> str:
        text = substitute(text, "    bind :80\n", f"    bind 127.0.0.1:{self.port}\n")
        return super().render(text, upstreams)

    def limit_idle(self, text: str, seconds: int) -> str:
        return substitute(text, "timeout server 60s", f"timeout server {seconds}s")

    def command(self) -> list[str]:
        return [self.binary, "-db", "-f", str(self.config)]

    def check_command(self) -> list[str]:
        return [self.binary, "-c", "-f", str(self.config)]


class Caddy(Proxy):
    name = "caddy"
    shipped = DEPLOY / "Caddyfile"
    binary = "/usr/bin/caddy"
    package = "caddy"

    def render(self, text: str, upstreams: Sequence[str]) -> str:
        text = substitute(text, "\n:80 {", f"\nhttp://127.0.0.1:{self.port} {{")
        return super().render(text, upstreams)

    def limit_idle(self, text: str, seconds: int) -> str:
        return substitute(text, "read_timeout 60s", f"read_timeout {seconds}s")

    def command(self) -> list[str]:
        return [self.binary, "run", "--adapter", "caddyfile", "--config", str(self.config)]

    def check_command(self) -> list[str]:
        return [self.binary, "validate", "--adapter", "caddyfile", "--config", str(self.config)]

    def environment(self) -> dict[str, str]:
        """Caddy keeps its state under $HOME (XDG dirs): this test's folder instead."""
        home = str(self.directory)
        return {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home}


class Apache(Proxy):
    name = "apache"
    shipped = DEPLOY / "apache.conf"
    binary = "/usr/sbin/apache2"
    package = "apache2"

    def render(self, text: str, upstreams: Sequence[str]) -> str:
        text = substitute(text, "\nListen 80\n", f"\nListen 127.0.0.1:{self.port}\n")
        text = substitute(text, "/var/run/apache2", str(self.directory), count=2)
        text = substitute(text, "/var/log/apache2", str(self.directory), count=2)
        return super().render(text, upstreams)

    def limit_idle(self, text: str, seconds: int) -> str:
        return substitute(text, "ProxyTimeout 60\n", f"ProxyTimeout {seconds}\n")

    def command(self) -> list[str]:
        return [self.binary, "-f", str(self.config), "-DFOREGROUND"]

    def check_command(self) -> list[str]:
        return [self.binary, "-t", "-f", str(self.config)]

    def access_log(self) -> list[tuple[str, str]]:
        """``(request line, replica)`` of every request answered so far, oldest first."""
        log = self.directory / "access.log"
        text = log.read_text() if log.exists() else ""
        return re.findall(r'"(\S+ \S+) HTTP/[\d.]+" .* upstream=(.*)$', text, flags=re.M)


class Varnish(Proxy):
    name = "varnish"
    shipped = DEPLOY / "varnish.vcl"
    binary = "/usr/sbin/varnishd"
    package = "varnish"
    # send_timeout caps a whole response: tests run it short, so that a stream
    # outliving it proves the VCL lifts it for event streams.
    send_timeout = 4

    def render(self, text: str, upstreams: Sequence[str]) -> str:
        for number, address in enumerate(upstreams, start=1):
            host, port = address.rsplit(":", 1)
            old = f'.host = "app{number}";\n    .port = "8000";'
            text = substitute(text, old, f'.host = "{host}";\n    .port = "{port}";')
        return text

    def limit_idle(self, text: str, seconds: int) -> str:
        old = ".between_bytes_timeout = 60s;"
        return substitute(text, old, f".between_bytes_timeout = {seconds}s;", count=2)

    def command(self) -> list[str]:
        return [
            self.binary, "-F", "-j", "none",
            "-n", str(self.directory / "work"),
            "-a", f"127.0.0.1:{self.port}",
            "-f", str(self.config),
            "-s", "malloc,32m",
            "-p", f"send_timeout={self.send_timeout}",
        ]  # fmt: skip

    def check_command(self) -> list[str]:
        """``varnishd -C`` compiles the VCL to C without starting anything."""
        return [self.binary, "-C", "-n", str(self.directory / "work"), "-f", str(self.config)]


PROXIES: list[type[Proxy]] = [HAProxy, Caddy, Apache, Varnish]
