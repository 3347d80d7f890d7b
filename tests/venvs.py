"""Fresh virtualenvs beside the project's own, as a user's machine has them.

Each holds this checkout installed editable (``pip install -e``) plus local
packages, and is cached under ``~/.cache/stepstream/venvs/`` by a hash of what
goes in (this checkout's path and ``pyproject.toml``, the extras, the packages'
files, the Python), so only the first run pays for the install. Packages are
copied first, so pip's build leaves the checkout clean.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.servers import ROOT

CACHE = Path.home() / ".cache" / "stepstream" / "venvs"
SKIPPED = {"__pycache__", "build"}


def _digest(extras: str, packages: Sequence[Path]) -> str:
    digest = hashlib.sha256(f"{sys.version}\n{ROOT}{extras}\n".encode())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    for package in packages:
        for path in sorted(package.rglob("*")):
            if path.is_file() and not SKIPPED & set(path.parts) and ".egg-info" not in str(path):
                digest.update(f"{path}\n".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def virtualenv(name: str, *, extras: str = "", packages: Sequence[Path] = ()) -> Path:
    """The folder of a virtualenv with this checkout (and ``extras``) and ``packages``."""
    target = CACHE / f"{name}-{_digest(extras, packages)}"
    ready = target / ".ready"
    if ready.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=120)
    with tempfile.TemporaryDirectory() as scratch:
        copies = [str(shutil.copytree(path, Path(scratch) / path.name)) for path in packages]
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        done = subprocess.run(
            [*pip, "-e", f"{ROOT}{extras}", *copies], capture_output=True, text=True, timeout=900
        )
    if done.returncode:
        raise RuntimeError(f"pip install into {target} failed:\n{done.stderr[-3000:]}")
    ready.touch()
    return target
