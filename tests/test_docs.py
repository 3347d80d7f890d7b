"""The README's examples, run as written against a real server.

Each block is taken from the Markdown itself, so an example that drifts from
what the service does fails here. Elided tokens (``WyJ...``) are replaced by
the ones a previous command of the same example printed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.servers import ROOT, Server

README = (ROOT / "README.md").read_text()
LOCAL = "http://127.0.0.1:8000"


def blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.DOTALL)


def run_curl(command: str, server: Server, seconds: float) -> str:
    """A curl line of the docs, aimed at ``server`` and stopped after ``seconds``."""
    argv = shlex.split(command.replace("\\\n", " ").replace(LOCAL, server.url))
    assert argv[0] == "curl"
    done = subprocess.run(
        [*argv, "--max-time", str(seconds), "--silent"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode in (0, 28), done.stderr  # 28: stopped by --max-time, as intended
    return done.stdout


def ids_of(stream: str) -> list[str]:
    return re.findall(r"^id: (\S+)$", stream, flags=re.MULTILINE)


def test_the_curl_stream_and_its_resume_work_as_written(output_dir: Path) -> None:
    console = next(b for b in blocks(README, "console") if "curl -N" in b)
    first_command = console.splitlines()[0].removeprefix("$ ")
    resume = next(b for b in blocks(README, "sh") if "Last-Event-ID" in b)
    with Server(log_path=output_dir / "server.log") as server:
        first = run_curl(first_command, server, 2.6)
        assert "event: start" in first and '"index":0' in first and '"index":1' not in first
        step_id = ids_of(first)[1]
        resumed = run_curl(re.sub(r"WyJ[\w.-]*\.\.\.", step_id, resume), server, 2.6)
    assert '"next":1' in resumed and '"resumed":true' in resumed
    assert '"index":1' in resumed and '"index":0' not in resumed


def test_your_own_kind_is_served_as_the_readme_shows(tmp_path: Path, output_dir: Path) -> None:
    module = next(b for b in blocks(README, "python") if "@job_kind" in b)
    (tmp_path / "myjobs.py").write_text(module)
    serve = next(b for b in blocks(README, "sh") if "STEPSTREAM_KINDS=" in b)
    kinds = re.search(r"STEPSTREAM_KINDS=(\S+)", serve)
    assert kinds is not None
    curl = next(line for line in serve.splitlines() if line.startswith("curl"))
    env = {"STEPSTREAM_KINDS": kinds.group(1), "PYTHONPATH": str(tmp_path)}
    with Server(env, log_path=output_dir / "server.log") as server:
        listed = run_curl(f"curl {server.url}/api/kinds", server, 5)
        assert '"name":"countdown"' in listed and '"title":"Countdown"' in listed
        stream = run_curl(curl, server, 2.5)
    assert "event: start" in stream and '"total":5' in stream
    assert 'event: progress\ndata: {"index":0,"message":"half way","fraction":0.5}' in stream
    assert '"result":{"left":4}' in stream


@pytest.mark.parametrize("path", sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"])
def test_every_relative_link_leads_somewhere(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_the_python_examples_compile() -> None:
    for markdown in [README, *(p.read_text() for p in (ROOT / "docs").glob("*.md"))]:
        for block in blocks(markdown, "python"):
            compile(block, "<docs>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_quick_start_commands_exist() -> None:
    quick = blocks(README, "sh")[0]
    for line in quick.splitlines():
        script = ROOT / line.split()[0]
        assert script.exists() and os.access(script, os.X_OK), line


CLI_DOC = (ROOT / "docs" / "cli.md").read_text()


def test_the_cli_example_prints_what_the_docs_show(output_dir: Path) -> None:
    console = next(b for b in blocks(CLI_DOC, "console") if "stepstream run sleep" in b)
    lines = console.splitlines()
    command = next(line for line in lines if line.startswith("$ stepstream"))
    shown = [json.loads(line) for line in lines if line.startswith("{")]
    with Server(log_path=output_dir / "server.log") as server:
        argv = shlex.split(command.removeprefix("$ ")) + ["--server", server.url, "--quiet"]
        binary = Path(sys.executable).parent / argv[0]
        done = subprocess.run([str(binary), *argv[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]

    def timeless(step: dict) -> dict:
        return {key: value for key, value in step.items() if key != "elapsed_ms"}

    assert [timeless(step) for step in printed] == [timeless(step) for step in shown]


@pytest.mark.parametrize("which", ["AsyncClient", "Client("])
def test_the_python_client_examples_run(which: str, output_dir: Path) -> None:
    block = next(b for b in blocks(CLI_DOC, "python") if which in b)
    with Server(log_path=output_dir / "server.log") as server:
        code = block.replace(LOCAL, server.url)
        if "async with" in code:
            code = "import asyncio\n\nasync def main():\n" + textwrap.indent(code, "    ")
            code += "\nasyncio.run(main())\n"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "0 {'count': 1}"
    if which == "AsyncClient":
        assert done.stdout.splitlines()[-1] == "Summary(total=5, ok=5, failed=0)"


def test_ci_runs_the_readmes_test_command() -> None:
    """CI must run what the README tells a person to run, nothing less."""
    quick = blocks(README, "sh")[0]
    test_command = quick.splitlines()[1].split("#")[0].strip()  # the second: run the tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command
