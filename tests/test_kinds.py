"""Which kinds a server runs: loading, checking, and ``GET /api/kinds``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.applications import create_app
from app.jobs import JobKind, Params, StepContext, job_kind
from app.jobs.loading import KindError, load_kinds
from app.settings import Settings
from tests.plugin_kinds import Work, blocking
from tests.servers import ROOT, TEST_SECRET

pytestmark = pytest.mark.anyio


def settings(**values: Any) -> Settings:
    return Settings(secret_key=["k"], **values)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(), kinds=["sleep", "scrape", "tests.plugin_kinds:blocking"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_kinds_lists_each_kind_with_its_schema_and_aliases(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/kinds")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    kinds = {kind["name"]: kind for kind in response.json()["kinds"]}
    assert list(kinds) == ["sleep", "scrape", "blocking"]
    assert kinds["scrape"]["aliases"] == {"url": "urls"}
    assert kinds["blocking"]["title"] == "Blocking work"
    assert kinds["blocking"]["description"].startswith("A plain def step")
    schema = kinds["sleep"]["params"]
    assert schema["properties"]["steps"]["maximum"] == 100_000
    assert schema["properties"]["wait"]["default"] == 1.0
    assert set(kinds["blocking"]) == {"name", "title", "description", "params", "aliases"}


async def test_a_served_plugin_kind_runs_through_the_api(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/jobs", json={"kind": "blocking", "params": {"steps": 2, "seconds": 0}}
    )
    assert created.status_code == 201
    batch = (await client.post(created.json()["steps_url"], json={})).json()
    assert [e["data"]["result"] for e in batch["events"][:2]] == [{"done": 1}, {"done": 2}]
    assert batch["done"] is True


def test_the_default_is_the_built_ins() -> None:
    assert list(load_kinds(settings())) == ["sleep", "scrape"]


def test_kinds_by_name_import_string_instance_and_list() -> None:
    class Mine(JobKind[Work]):
        name = "mine"
        params_model = Work

        def total(self, params: Work) -> int:
            return 1

        async def step(self, ctx: StepContext[Work]) -> dict[str, Any]:
            return {}

    kinds = load_kinds(settings(), ["sleep", "tests.plugin_kinds:reporting", Mine, [blocking]])
    assert list(kinds) == ["sleep", "reporting", "mine", "blocking"]
    from_env = load_kinds(settings(kinds="tests.plugin_kinds:blocking,sleep"))
    assert list(from_env) == ["blocking", "sleep"]


class Wrong(Params):
    n: int = 1


@pytest.mark.parametrize(
    ("kinds", "says"),
    [
        (["nope"], "nope: not a built-in kind"),
        (["no_such_module_xyz:thing"], "cannot import no_such_module_xyz"),
        (["tests.plugin_kinds:missing"], "has no attribute missing"),
        (["tests.plugin_kinds:Work"], "is not a job kind"),
        (["sleep", "sleep"], "a second kind named 'sleep'"),
        ([job_kind(params=Wrong, total=1, name="Bad Name")(lambda ctx: {})], "invalid kind name"),
        ([job_kind(params=Wrong, total=1, name="jobs")(lambda ctx: {})], "taken by the API"),
        (
            [job_kind(params=dict, total=1, name="loose")(lambda ctx: {})],  # type: ignore[type-var]
            "subclass of app.jobs.Params",
        ),
        ([], "no job kinds"),
    ],
)
def test_a_bad_kind_is_one_line_that_names_it(kinds: list[Any], says: str) -> None:
    with pytest.raises(KindError, match=says) as raised:
        load_kinds(settings(), kinds)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "kinds",
    [
        "tests.plugin_kinds:missing",
        "no_such_module_xyz:thing",
        "sleep,sleep",
        "nope",
    ],
)
def test_a_bad_kind_stops_the_server_at_start_up_with_one_line(kinds: str) -> None:
    env = {**os.environ, "STEPSTREAM_SECRET_KEY": TEST_SECRET, "STEPSTREAM_KINDS": kinds}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("stepstream: ") and kinds.split(",")[0].split(":")[-1] in lines[0]


def test_importing_the_app_reads_and_writes_no_key_file(tmp_path) -> None:
    """Tools and tests import app.main; only start-up or a first request touch the key."""
    key_file = tmp_path / "state" / "key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPSTREAM_")}
    env["STEPSTREAM_SECRET_KEY_FILE"] = str(key_file)
    code = "import app.main, app.applications; print(app.main.app)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert not key_file.exists() and not key_file.parent.exists()
