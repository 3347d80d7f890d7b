"""The client recipes of docs/clients/, ready to run: the Python ones in a
virtualenv of their own and the Node ones next to their node_modules, both made
once and kept under ``~/.cache/stepstream/`` (keyed by the requirements, so an
edit to them makes a fresh one)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.podman import CACHE
from tests.servers import ROOT

RECIPES_DIR = ROOT / "docs" / "clients"
MIN_NODE = (20, 18)  # docs/clients/package.json's engines: undici 7, eventsource 4


def _keyed(name: str, requirements: Path) -> Path:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return CACHE / f"{name}-{digest}"


def python_clients() -> Path:
    """A virtualenv with docs/clients/requirements.txt: its python."""
    venv = _keyed("clients-venv", RECIPES_DIR / "requirements.txt")
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        install = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run(
            [*install, "-r", str(RECIPES_DIR / "requirements.txt")], check=True, timeout=600
        )
        (venv / ".installed").touch()
    return python


def node_clients() -> Path:
    """A folder with docs/clients/package.json installed: where Node recipes run."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node is missing: scripts/install --test apt-gets nodejs and npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    found = tuple(int(part) for part in version.stdout.strip().lstrip("v").split(".")[:2])
    if found < MIN_NODE:
        pytest.skip(f"Node {version.stdout.strip()} is older than the {MIN_NODE} undici 7 needs")
    folder = _keyed("clients-node", RECIPES_DIR / "package.json")
    if not (folder / ".installed").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy(RECIPES_DIR / "package.json", folder)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent"],
            cwd=folder,
            check=True,
            timeout=600,
        )
        (folder / ".installed").touch()
    return folder


@dataclass(frozen=True)
class Recipe:
    """One recipe: a script of docs/clients/ and how to run it on a URL."""

    name: str
    script: str
    node_library: str | None = None  # the npm package the recipe imports, if it takes one

    def command(self, url: str) -> list[str]:
        if not self.script.endswith(".mjs"):
            return [str(python_clients()), str(RECIPES_DIR / self.script), url]
        folder = node_clients()
        # ES modules resolve imports from the script's own folder: run a copy
        # that sits next to node_modules.
        shutil.copy(RECIPES_DIR / self.script, folder)
        library = [self.node_library] if self.node_library else []
        return [str(shutil.which("node")), str(folder / self.script), *library, url]


RECIPES = [
    Recipe("npm-eventsource", "eventsource.mjs", "eventsource"),
    Recipe("undici", "eventsource.mjs", "undici"),
    Recipe("eventsource-client", "eventsource-client.mjs"),
    Recipe("requests-sse", "requests_sse_recipe.py"),
    Recipe("aiohttp-sse-client2", "aiohttp_sse_client2_recipe.py"),
    Recipe("sseclient-py", "sseclient_py_recipe.py"),
    Recipe("httpx-sse", "httpx_sse_recipe.py"),
]
