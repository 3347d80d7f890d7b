"""The example package (examples/lookup) as its users install it: in a fresh virtualenv
beside the project, served by its entry point and by STEPSTREAM_KINDS, streamed,
resumed after a SIGKILL, and run by ``stepstream`` from a virtualenv without it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import anyio
import httpx
import pytest

from tests.example_env import (
    api_fixture,  # noqa: F401  (a fixture)
    serve,
    server_venv_fixture,  # noqa: F401  (a fixture)
)
from tests.slow_api import SlowApi
from tests.sse import collect, read_events, steps_of
from tests.venvs import virtualenv

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(900)]  # the first run builds two venvs


@pytest.fixture(scope="module")
def client_venv() -> Path:
    """The project with its client extra, and not the example: what a laptop has."""
    return virtualenv("client", extras="[client]")


def importable(venv: Path, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([venv / "bin" / "python", "-c", code], timeout=60).returncode == 0


def events_path(api: SlowApi, items: list[str]) -> str:
    return "/api/lookup/events?" + urlencode([("api", api.url), *(("item", i) for i in items)])


async def test_the_entry_point_serves_the_installed_example(
    server_venv: Path, api: SlowApi, output_dir: Path
) -> None:
    assert importable(server_venv, "stepstream_lookup")
    # The client extra is not installed (tqdm may still come with the scraper's resiliparse).
    assert not importable(server_venv, "httpx_sse")
    with serve(server_venv, output_dir) as server:
        kinds = httpx.get(f"{server.url}/api/kinds").json()["kinds"]
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            with anyio.fail_after(20):
                response, events = await collect(client, events_path(api, ["a", "bb", "ccc"]))
    assert [kind["name"] for kind in kinds] == ["sleep", "scrape", "lookup"]
    lookup = kinds[2]
    assert lookup["title"] == "Look up" and lookup["aliases"] == {"item": "items"}
    assert lookup["params"]["properties"]["api"]["format"] == "uri"
    assert response.status_code == 200
    results = [event.json["result"] for event in events if event.event == "step"]
    assert results == [
        {"item": item, "status": 200, "answer": {"item": item, "length": len(item)}}
        for item in ["a", "bb", "ccc"]
    ]
    assert events[-1].event == "done" and events[-1].json == {"total": 3, "ok": 3, "failed": 0}
    assert api.asked == {"a": 1, "bb": 1, "ccc": 1}


async def test_named_in_stepstream_kinds_it_resumes_after_a_sigkill(
    server_venv: Path, api: SlowApi, output_dir: Path
) -> None:
    """Every step exactly once across a SIGKILL and a restart, resuming from the last id."""
    items = [f"item-{n}" for n in range(6)]
    seen: list[int] = []
    last_id = None
    with serve(server_venv, output_dir, STEPSTREAM_KINDS="stepstream_lookup:lookup") as server:
        kinds = httpx.get(f"{server.url}/api/kinds").json()["kinds"]
        assert [kind["name"] for kind in kinds] == ["lookup"]
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            with anyio.fail_after(30):
                try:
                    async with client.stream("GET", events_path(api, items)) as response:
                        async for event in read_events(response):
                            last_id = event.id or last_id
                            if event.event == "step":
                                seen.append(event.json["index"])
                                if len(seen) == 2:
                                    server.kill()
                except httpx.TransportError:
                    pass  # the server is gone mid-stream
                server.start()
                _, rest = await collect(client, events_path(api, items), last_event_id=last_id)
    assert seen == [0, 1]
    assert steps_of(rest) == [2, 3, 4, 5]
    assert rest[0].event == "start" and rest[0].json["resumed"] is True
    assert rest[-1].event == "done"


async def test_stepstream_run_learns_the_example_from_the_server(
    server_venv: Path, client_venv: Path, api: SlowApi, output_dir: Path
) -> None:
    assert not importable(client_venv, "stepstream_lookup")
    command = [str(client_venv / "bin" / "stepstream")]
    with serve(server_venv, output_dir) as server:

        def stepstream(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*command, *args, "--server", server.url],
                capture_output=True,
                text=True,
                timeout=60,
            )

        kinds = stepstream("kinds")
        helped = stepstream("run", "lookup", "--help")
        ran = stepstream("run", "lookup", "--api", api.url, "a", "bb")
        refused = stepstream("run", "lookup", "--api", "ftp://127.0.0.1/", "a")
    assert kinds.returncode == 0, kinds.stderr
    assert "lookup  Look up: Ask a slow HTTP API about each item" in kinds.stdout
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())
    assert "--api API The API's base URL, http or https" in text
    assert "--items ITEMS [ITEMS ...], --item ITEMS [ITEMS ...] What to ask about" in text
    assert ran.returncode == 0, ran.stderr
    steps = [json.loads(line) for line in ran.stdout.splitlines()]
    assert [step["result"]["answer"] for step in steps] == [
        {"item": "a", "length": 1},
        {"item": "bb", "length": 2},
    ]
    assert refused.returncode == 2
    assert "params.api:" in refused.stderr
