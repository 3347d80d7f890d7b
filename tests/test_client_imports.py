"""The client stands alone: it imports nothing of the server, and the server none of it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    report = "import json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def test_the_client_and_its_command_import_no_other_module_of_app() -> None:
    modules = modules_after("import app.client, app.client.cli")
    ours = [name for name in modules if name == "app" or name.startswith("app.")]
    assert "app.client.cli" in ours
    assert [name for name in ours if name != "app" and not name.startswith("app.client")] == []
    assert "pydantic" not in modules  # nor what the server validates with


def test_the_server_imports_neither_tqdm_nor_httpx_sse() -> None:
    code = "import app.main; from app.applications import create_app; create_app()"
    modules = modules_after(code)
    assert "app.routes" in modules
    assert not [name for name in modules if name.split(".")[0] in ("tqdm", "httpx_sse")]
    assert not [name for name in modules if name.startswith("app.client")]
