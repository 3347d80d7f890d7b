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


def substitute(text: str, old: str, new: str, count: int | None = 1) -> str:
    """``text`` with ``old`` replaced by ``new``, which must occur exactly ``count``
    times (``None``: once or more)."""
    found = text.count(old)
    if found == 0 or (count is not None and found != count):
        raise AssertionError(f"expected {count or 'some'} of {old!r} in the config, found {found}")
    return text.replace(old, new)


class Proxy:
    """One proxy in the foreground with its own folder, in front of two replicas.

    A subclass declares its shipped file and binary, the lines that set its
    listen address and paths (``{port}`` and ``{directory}`` filled in), the
    line that sets its idle limit (``{seconds}``), and the arguments that run
    it and check its config (``{config}``, ``{port}``, ``{directory}``).
    ``idle_limit`` (seconds) replaces the shipped idle limit; ``changes`` maps
    exact lines to what a test puts in their place, everywhere they occur.
    """

    name: ClassVar[str]
    shipped: ClassVar[Path]
    binary: ClassVar[str]
    package: ClassVar[str]
    local: ClassVar[dict[str, str]] = {}
    idle_line: ClassVar[tuple[str, str]]
    run_args: ClassVar[list[str]]
    check_args: ClassVar[list[str]]

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
        self.config = self.directory / self.shipped.name
        text = self.with_upstreams(self.shipped.read_text(), upstreams)
        for old, new in self.local.items():
            text = substitute(text, old, self._fill(new), count=None)
        if idle_limit is not None:
            old, new = self.idle_line
            text = substitute(text, old, new.format(seconds=idle_limit), count=None)
        for old, new in (changes or {}).items():
            text = substitute(text, old, new, count=None)
        self.config.write_text(text)
        self.log = self.directory / "proxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _fill(self, template: str) -> str:
        return template.format(port=self.port, directory=self.directory, config=self.config)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def with_upstreams(self, text: str, upstreams: Sequence[str]) -> str:
        for number, address in enumerate(upstreams, start=1):
            text = substitute(text, f"app{number}:8000", address)
        return text

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def check(self) -> subprocess.CompletedProcess[str]:
        """The proxy's own config check (``haproxy -c``, ``apache2 -t``...)."""
        return subprocess.run(
            [self.binary, *map(self._fill, self.check_args)],
            cwd=self.directory,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self, timeout: float = 20) -> Proxy:
        """Start, and wait until a request through the proxy reaches a replica."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *map(self._fill, self.run_args)],
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
    local = {"    bind :80\n": "    bind 127.0.0.1:{port}\n"}
    idle_line = ("timeout server 60s", "timeout server {seconds}s")
    run_args = ["-db", "-f", "{config}"]
    check_args = ["-c", "-f", "{config}"]


class Caddy(Proxy):
    name = "caddy"
    shipped = DEPLOY / "Caddyfile"
    binary = "/usr/bin/caddy"
    package = "caddy"
    local = {"\n:80 {": "\nhttp://127.0.0.1:{port} {{"}
    idle_line = ("read_timeout 60s", "read_timeout {seconds}s")
    run_args = ["run", "--adapter", "caddyfile", "--config", "{config}"]
    check_args = ["validate", "--adapter", "caddyfile", "--config", "{config}"]

    def environment(self) -> dict[str, str]:
        """Caddy keeps its state under $HOME (XDG dirs): this test's folder instead."""
        home = str(self.directory)
        return {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home}


class Apache(Proxy):
    name = "apache"
    shipped = DEPLOY / "apache.conf"
    binary = "/usr/sbin/apache2"
    package = "apache2"
    local = {
        "\nListen 80\n": "\nListen 127.0.0.1:{port}\n",
        "/var/run/apache2": "{directory}",
        "/var/log/apache2": "{directory}",
    }
    idle_line = ("ProxyTimeout 60\n", "ProxyTimeout {seconds}\n")
    run_args = ["-f", "{config}", "-DFOREGROUND"]
    check_args = ["-t", "-f", "{config}"]


class Varnish(Proxy):
    """varnishd takes its listen address on the command line, and its backends
    as a host and a port apart. ``send_timeout`` caps a whole response: the
    tests run it short (4 s), so that a stream outliving it proves the VCL
    lifts it for event streams. ``varnishd -C`` compiles the VCL to C."""

    name = "varnish"
    shipped = DEPLOY / "varnish.vcl"
    binary = "/usr/sbin/varnishd"
    package = "varnish"
    idle_line = (".between_bytes_timeout = 60s;", ".between_bytes_timeout = {seconds}s;")
    run_args = [
        "-F", "-j", "none", "-n", "{directory}/work", "-a", "127.0.0.1:{port}",
        "-f", "{config}", "-s", "malloc,32m", "-p", "send_timeout=4",
    ]  # fmt: skip
    check_args = ["-C", "-n", "{directory}/work", "-f", "{config}"]

    def with_upstreams(self, text: str, upstreams: Sequence[str]) -> str:
        for number, address in enumerate(upstreams, start=1):
            host, port = address.rsplit(":", 1)
            old = f'.host = "app{number}";\n    .port = "8000";'
            text = substitute(text, old, f'.host = "{host}";\n    .port = "{port}";')
        return text


PROXIES: list[type[Proxy]] = [HAProxy, Caddy, Apache, Varnish]
