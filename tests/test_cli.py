"""The ``stepstream`` command as a real subprocess against a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import ROOT, Server, free_port, wait_until

COMMAND = [sys.executable, "-m", "app.client.cli"]


def stepstream(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, **kwargs
    )


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_prints_each_step_as_one_json_line(server) -> None:
    done = stepstream("run", "sleep", "--steps", "4", "--wait", "0.05", "--server", server.url)
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(s["index"], s["ok"], s["result"]) for s in steps] == [
        (i, True, {"count": i + 1}) for i in range(4)
    ]


def test_a_run_writes_csv(server, output_dir) -> None:
    out = output_dir / "steps.csv"
    done = stepstream(
        "run", "sleep", "--steps", "3", "--wait", "0", "--server", server.url, "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    rows = out.read_text().splitlines()
    assert rows[0] == "index,ok,elapsed_ms,count"
    assert [row.split(",")[3] for row in rows[1:]] == ["1", "2", "3"]


def test_a_killed_server_restarted_loses_and_repeats_nothing(output_dir) -> None:
    out = output_dir / "steps.jsonl"
    out.unlink(missing_ok=True)  # left by an earlier run of this test
    log = output_dir / "server.log"
    server = Server({"STEPSTREAM_HEARTBEAT": "1", "STEPSTREAM_RETRY_MS": "200"}, log_path=log)
    with server:
        command = start(
            "run",
            "sleep",
            "--steps",
            "12",
            "--wait",
            "0.25",
            "--server",
            server.url,
            "-o",
            str(out),
        )
        try:
            wait_until(lambda: out.exists() and len(lines_of(out)) >= 3, 20, what="3 steps")
            server.kill()
            server.start()
            stdout, stderr = command.communicate(timeout=60)
        finally:
            command.kill()
            command.wait()
    assert command.returncode == 0, stderr
    assert [s["index"] for s in lines_of(out)] == list(range(12))


def test_ctrl_c_prints_a_command_that_continues(server, output_dir) -> None:
    out = output_dir / "steps.jsonl"
    out.unlink(missing_ok=True)  # left by an earlier run of this test
    command = start(
        "run", "sleep", "--steps", "10", "--wait", "0.2", "--server", server.url, "-o", str(out)
    )
    try:
        wait_until(lambda: out.exists() and len(lines_of(out)) >= 2, 20, what="2 steps")
        command.send_signal(signal.SIGINT)
        _, stderr = command.communicate(timeout=20)
    finally:
        command.kill()
        command.wait()
    assert command.returncode == 130, stderr
    resume = stderr.strip().splitlines()[-1].split()
    assert resume[:2] == ["stepstream", "resume"] and "-o" in resume
    first = len(lines_of(out))
    assert first < 10
    done = stepstream(*resume[1:])
    assert done.returncode == 0, done.stderr
    assert [s["index"] for s in lines_of(out)] == list(range(10))


def test_invalid_params_exit_2_field_by_field(server) -> None:
    done = stepstream("run", "sleep", "--steps", "0", "--wait", "soon", "--server", server.url)
    assert done.returncode == 2
    assert "params.steps:" in done.stderr and "params.wait:" in done.stderr


def test_a_tampered_cursor_exits_3(server) -> None:
    job = httpx.post(
        f"{server.url}/api/jobs", json={"kind": "sleep", "params": {"steps": 2, "wait": 0}}
    ).json()
    cursor = httpx.post(f"{server.url}{job['steps_url']}", json={}).json()["cursor"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    done = stepstream("resume", job["job"], tampered, "--server", server.url)
    assert done.returncode == 3, done.stderr
    assert "invalid_token" in done.stderr


def test_an_expired_cursor_exits_3(output_dir) -> None:
    env = {"STEPSTREAM_TOKEN_MAX_AGE": "1"}
    with Server(env, log_path=output_dir / "server.log") as server:
        job = httpx.post(
            f"{server.url}/api/jobs", json={"kind": "sleep", "params": {"steps": 3, "wait": 0}}
        ).json()
        cursor = httpx.post(f"{server.url}{job['steps_url']}", json={}).json()["events"][0]["id"]

        def expired() -> bool:
            events = httpx.get(
                f"{server.url}{job['events_url']}", headers={"Last-Event-ID": cursor}
            )
            return events.status_code == 410

        wait_until(expired, 10, interval=0.2, what="the cursor to expire")
        done = stepstream("resume", job["job"], cursor, "--server", server.url)
    assert done.returncode == 3, done.stderr
    assert "token_expired" in done.stderr


def test_an_unreachable_server_exits_4_after_give_up() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = stepstream("run", "sleep", "--server", url, "--give-up", "1")
    assert done.returncode == 4
    assert "gave up after 1 s" in done.stderr


def test_the_server_comes_from_stepstream_url(server) -> None:
    env = {**os.environ, "STEPSTREAM_URL": server.url}
    done = stepstream("run", "sleep", "--steps", "1", "--wait", "0", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == {"count": 1}


def test_a_kinds_only_list_param_takes_positional_arguments() -> None:
    """Options come from the declared params: no kind-specific CLI code."""
    from app.client.cli import build_parser
    from app.client.options import load_kinds, params_from

    parser = build_parser(load_kinds())
    args = parser.parse_args(
        ["run", "scrape", "https://a.example/", "--url", "https://b.example/", "--delay", "1"]
    )
    assert params_from(args) == {"urls": ["https://a.example/", "https://b.example/"], "delay": "1"}
    sleep = parser.parse_args(["run", "sleep", "--steps", "3"])
    assert params_from(sleep) == {"steps": "3"}
