"""The ``stepstream`` command as a real subprocess against a real server."""

from __future__ import annotations

import csv
import json
import os
import pty
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import client_kinds
from tests.cutting_proxy import CuttingProxy
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


@pytest.fixture
def kinds_server(output_dir: Path) -> Iterator[Server]:
    with client_kinds.kinds_server(output_dir) as running:
        yield running


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
    done = stepstream("run", "sleep", "--steps", "0", "--wait", "-1", "--server", server.url)
    assert done.returncode == 2
    assert "params.steps:" in done.stderr and "params.wait:" in done.stderr


def test_a_value_of_the_wrong_type_is_a_usage_error_before_any_job(server) -> None:
    done = stepstream("run", "sleep", "--steps", "many", "--server", server.url)
    assert done.returncode == 2
    assert "argument --steps: invalid int value: 'many'" in done.stderr


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


def test_an_unreachable_server_exits_4_after_give_up(server) -> None:
    job = httpx.post(
        f"{server.url}/api/jobs", json={"kind": "sleep", "params": {"steps": 2, "wait": 0}}
    ).json()
    url = f"http://127.0.0.1:{free_port()}"
    done = stepstream("resume", job["job"], "--server", url, "--give-up", "1")
    assert done.returncode == 4
    assert "gave up after 1 s" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("to continue: stepstream resume ")


def test_no_server_to_learn_the_options_from_is_one_line_and_exit_4() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for command in (["run", "sleep", "--steps", "2"], ["run", "--help"], ["kinds"]):
        done = stepstream(*command, "--server", url)
        assert done.returncode == 4, command
        assert done.stderr.startswith(f"stepstream: cannot reach {url}")
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_the_server_comes_from_stepstream_url(server) -> None:
    env = {**os.environ, "STEPSTREAM_URL": server.url}
    done = stepstream("run", "sleep", "--steps", "1", "--wait", "0", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == {"count": 1}


def test_kinds_lists_what_the_server_runs(kinds_server: Server) -> None:
    done = stepstream("kinds", "--server", kinds_server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "sleep         Count: Count to N, one step every `wait` seconds: the classic demo.",
        "greet         Greet 100%: Greets each name: the params come back as the step saw them.",
        "checkpointed  Checkpointed: Books its step in a checkpoint, says so, then waits.",
    ]


def test_run_help_shows_the_servers_options(kinds_server: Server) -> None:
    done = stepstream("run", "greet", "--help", "--server", kinds_server.url)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--names NAMES [NAMES ...], --name NAMES [NAMES ...] Whom to greet. (items <= 10" in text
    assert "--times TIMES How many times each. (>= 1, <= 5, default: 1)" in text
    assert "--ratio RATIO A share of 100%. (>= 0, <= 1, default: 0.5)" in text
    assert "--loud, --no-loud Shout it. (default: false)" in text
    assert '--colour {red,green} Ink. (default: "red")' in text
    assert '--mode {fast,slow} Mode (default: "fast")' in text
    assert "--note NOTE Anything to add. (default: null)" in text
    listed = stepstream("run", "--help", "--server", kinds_server.url)
    assert "KIND sleep Count greet Greet 100% checkpointed Checkpointed" in " ".join(
        listed.stdout.split()
    )


def test_options_are_typed_by_the_schema(kinds_server: Server) -> None:
    """Values reach the server as the schema types them; the only list takes positionals."""
    done = stepstream(
        *("run", "greet", "ann", "--name", "bob", "--times", "3", "--ratio", "0.25", "--loud"),
        *("--colour", "green", "--mode", "slow", "--note", "hi", "--server", kinds_server.url),
    )
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(steps) == 2
    assert steps[0]["result"]["params"] == {
        "names": ["ann", "bob"],
        "times": 3,
        "ratio": 0.25,
        "loud": True,
        "colour": "green",
        "mode": "slow",
        "note": "hi",
    }
    wrong = stepstream("run", "greet", "--colour", "blue", "--server", kinds_server.url)
    assert wrong.returncode == 2
    assert "argument --colour: invalid choice: 'blue'" in wrong.stderr


def test_help_needs_no_server_settings() -> None:
    """Regression: the command read the server's settings, and a heartbeat of 0 crashed it."""
    env = {**os.environ, "STEPSTREAM_HEARTBEAT": "0", "STEPSTREAM_URL": "http://127.0.0.1:9"}
    done = stepstream("--help", env=env)
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout and "kinds" in done.stdout and "resume" in done.stdout


def test_a_csv_keeps_each_steps_own_ok_apart_from_the_results(
    kinds_server: Server, output_dir: Path
) -> None:
    out = output_dir / "greet.csv"
    done = stepstream("run", "greet", "ann", "--server", kinds_server.url, "-o", str(out))
    assert done.returncode == 0, done.stderr
    [row] = list(csv.DictReader(out.read_text().splitlines()))
    assert row["ok"] == "True" and float(row["elapsed_ms"]) >= 0
    assert row["result.ok"] == "its own" and row["result.elapsed_ms"] == "-1"
    assert row["params.names"] == '["ann"]'


def test_an_api_key_from_the_option_or_the_environment(output_dir: Path) -> None:
    with Server({"STEPSTREAM_API_KEYS": "k-one"}, log_path=output_dir / "server.log") as server:
        refused = stepstream("run", "sleep", "--steps", "1", "--server", server.url)
        given = stepstream(
            "run",
            "sleep",
            "--steps",
            "1",
            "--wait",
            "0",
            "--server",
            server.url,
            "--api-key",
            "k-one",
        )
        env = {**os.environ, "STEPSTREAM_API_KEY": "k-one"}
        from_env = stepstream(
            "run", "sleep", "--steps", "1", "--wait", "0", "--server", server.url, env=env
        )
    assert refused.returncode == 3
    assert refused.stderr.startswith("stepstream: 401 unauthorized:")
    assert given.returncode == 0, given.stderr
    assert from_env.returncode == 0, from_env.stderr


def test_a_stream_cut_after_each_start_gives_up(server) -> None:
    """Regression: every ``start`` reset the give-up clock, so a stream cut after each
    ``start`` but before any step was retried forever, whatever ``--give-up`` said."""
    with CuttingProxy(server.url) as proxy:
        began = time.monotonic()
        done = stepstream(
            "run", "sleep", "--steps", "3", "--wait", "30", "--server", proxy.url, "--give-up", "3"
        )
        took = time.monotonic() - began
    assert done.returncode == 4, done.stderr
    assert "gave up after 3 s" in done.stderr
    assert proxy.cuts >= 2
    assert took < 20


def test_the_bar_shows_the_running_steps_message(kinds_server: Server) -> None:
    """On a terminal, the progress bar says what the step being run reported."""
    leader, follower = pty.openpty()
    termios.tcsetwinsize(follower, (24, 120))  # a new pty is 0 columns wide: no room for a bar
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    command = [*COMMAND, "run", "checkpointed", "--steps", "2", "--seconds", "1"]
    with subprocess.Popen(
        [*command, "--server", kinds_server.url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    ) as process:
        os.close(follower)
        stdout, _ = process.communicate(timeout=30)
    reader.join(10)
    os.close(leader)
    assert process.returncode == 0
    assert len(stdout.splitlines()) == 2
    bar = seen.decode(errors="replace")
    assert "booked 50%" in bar
    assert "2/2" in bar
