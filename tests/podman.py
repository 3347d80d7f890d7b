"""The project's image built from its Dockerfile, unchanged, and run for real with
podman: no Docker engine and no image registry are needed.

- The base image is made from Debian packages with debootstrap and kept in
  podman's store; its root filesystem's tarball is also kept under
  ``~/.cache/stepstream/`` so that a wiped store costs an import, not a
  debootstrap.
- The build (``--isolation chroot --network host``) mounts read-only every
  file and folder the host's pip configuration names (``pip config debug``),
  so pip inside reaches the same package index the host does. podman keeps
  the build's layers: a second build with no change in the project is a
  cache hit.
- Containers run on the host's network (loopback ports, never a bridge of
  private addresses), with runc, cgroupfs and no default ulimits (the
  defaults are above what a sandbox allows).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, wait_until

BASE_IMAGE = "localhost/pybase:bookworm"
BASE_PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stepstream"
# One tag per checkout, kept between runs: podman's layer cache hangs off it.
IMAGE = f"localhost/stepstream-test:{hashlib.sha256(bytes(ROOT)).hexdigest()[:12]}"
TOOLS = {"podman": "podman", "/usr/sbin/runc": "runc", "/usr/sbin/debootstrap": "debootstrap"}


def require_podman() -> str:
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: scripts/install --test apt-gets {package}")
    return str(shutil.which("podman"))


def containers_conf() -> Path:
    conf = CACHE / "containers.conf"
    if not conf.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        conf.write_text("[containers]\ndefault_ulimits = []\n")
    return conf


def podman(*args: str, timeout: float = 60, log: Path | None = None) -> str:
    """Run podman with this sandbox's settings; its stdout, or a failure with its output."""
    command = [require_podman(), "--runtime", "runc", "--cgroup-manager=cgroupfs", *args]
    env = {**os.environ, "CONTAINERS_CONF": str(containers_conf())}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        with open(log, "a") as file:
            file.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def base_image(log: Path) -> None:
    """``localhost/pybase:bookworm``: from podman's store, else the cached
    tarball, else debootstrap (about a minute, once)."""
    if subprocess.run([require_podman(), "image", "exists", BASE_IMAGE]).returncode == 0:
        return
    tarball = CACHE / "pybase-bookworm.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            rootfs = Path(scratch) / "rootfs"
            with open(log, "ab") as out:
                subprocess.run(
                    ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}"]
                    + ["bookworm", str(rootfs)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=900,
                )
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
            partial.rename(tarball)
    podman("import", str(tarball), BASE_IMAGE, timeout=300, log=log)


def pip_mounts() -> list[str]:
    """``-v PATH:PATH:ro`` for each pip config file, and each file or folder its
    values name (CA bundle, constraints, find-links, file:// indexes)."""
    debug = subprocess.run(
        [sys.executable, "-m", "pip", "config", "debug"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    paths = set(re.findall(r"^\s+(/\S+), exists: True$", debug, flags=re.M))
    for value in re.findall(r"^\s+\S+[:=]\s*'?([^'\n]+)'?$", debug, flags=re.M):
        for word in value.split():
            path = word.removeprefix("file://")
            if path.startswith("/"):
                paths.add(path.removesuffix("/simple") if path.endswith("/simple") else path)
    mounts = []
    for path in sorted(p for p in paths if Path(p).exists()):
        mounts += ["-v", f"{path}:{path}:ro"]
    return mounts


def build(log: Path) -> str:
    """The Dockerfile, unchanged, on the Debian-made base image; the image's tag."""
    base_image(log)
    podman(
        "build", "--isolation", "chroot", "--network", "host", "--format", "docker",
        "--build-arg", f"PYTHON_IMAGE={BASE_IMAGE}", *pip_mounts(),
        "-t", IMAGE, str(ROOT),
        timeout=900, log=log,
    )  # fmt: skip
    return IMAGE


class Container:
    """The image run on a loopback port of the host's network."""

    def __init__(self, image: str, port: int, env: dict[str, str], log: Path) -> None:
        self.image, self.port, self.env, self.log = image, port, env, log
        self.name = f"stepstream-test-{uuid.uuid4().hex[:12]}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Container:
        settings = {**self.env, "PORT": str(self.port)}
        env = [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]
        podman("run", "-d", "--name", self.name, "--network", "host", *env, self.image)
        wait_until(self._healthy, 60, what=f"container {self.name} on {self.url}")
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def healthcheck(self) -> None:
        """The image's own HEALTHCHECK command, run inside the container."""
        podman("healthcheck", "run", self.name, log=self.log)

    def stop(self) -> None:
        """``podman stop``: SIGTERM to uvicorn (PID 1), SIGKILL after 10 s."""
        podman("stop", "-t", "10", self.name, timeout=30, log=self.log)

    def exit_code(self) -> int:
        return int(podman("inspect", "-f", "{{.State.ExitCode}}", self.name).strip())

    def remove(self) -> None:
        podman("logs", self.name, log=self.log)
        podman("rm", "-f", self.name, timeout=60)

    def __enter__(self) -> Container:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()
