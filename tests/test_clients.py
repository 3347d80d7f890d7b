"""Each client recipe of docs/clients/ run against a real server that is
SIGKILLed and restarted in the middle of the job: every step exactly once,
then a clean exit. And each one stops, with an error, on a refused stream
instead of retrying it forever."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.clients import RECIPES, Recipe
from tests.servers import Server, wait_until

pytestmark = pytest.mark.clients

recipes = pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])
STEPS = 10
# The server stays down longer than the 2 s `retry:` it sends, so every recipe
# meets a refused reconnect, as during a real restart (undici 6 gave up there).
OUTAGE = 3


class Run:
    """A recipe's process, its stdout read line by line as it comes."""

    def __init__(self, command: list[str], stderr: Path) -> None:
        self.lines: list[str] = []
        with open(stderr, "wb") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def steps(self) -> list[int]:
        return [json.loads(line)["index"] for line in self.lines]

    def wait(self, timeout: float) -> int:
        """The exit status; a recipe still running after ``timeout`` is killed."""
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self.reader.join(10)
            assert self.process.stdout is not None
            self.process.stdout.close()


@recipes
def test_recipe_gets_every_step_once_across_a_sigkill_and_restart(
    recipe: Recipe, output_dir: Path
) -> None:
    env = {"STEPSTREAM_HEARTBEAT": "1"}
    server = Server(env, log_path=output_dir / "server.log").start()
    try:
        command = recipe.command(f"{server.url}/api/sleep/events?steps={STEPS}&wait=0.3")
        run = Run(command, output_dir / "recipe.stderr")
        wait_until(lambda: len(run.lines) >= 3, 30, what="three steps")
        server.kill()
        killed_at = time.monotonic()
        time.sleep(OUTAGE)  # the fault itself: down for longer than a reconnect delay
        server = Server(env, port=server.port, log_path=output_dir / "server.log").start()
        code = run.wait(60)
        took = time.monotonic() - killed_at
    finally:
        server.stop()
    (output_dir / "run.json").write_text(json.dumps({"finished_after_kill_s": round(took, 2)}))
    stderr = (output_dir / "recipe.stderr").read_text()
    assert code == 0, stderr
    assert run.steps() == list(range(STEPS)), stderr


@recipes
def test_recipe_stops_on_a_refused_stream(recipe: Recipe, server: Server, output_dir: Path) -> None:
    """A token that is not one is a 400: the recipe exits 1 and says so (with the
    status, except undici's EventSource, which does not expose it)."""
    run = Run(recipe.command(f"{server.url}/api/jobs/not-a-token/events"), output_dir / "stderr")
    code = run.wait(20)
    assert code == 1
    assert run.lines == []
    stderr = (output_dir / "stderr").read_text()
    assert "stream refused" in stderr
    assert "400" in stderr or recipe.node_library == "undici", stderr
