"""Where the signing keys come from.

With ``STEPSTREAM_SECRET_KEY`` unset, a random key is made once and kept in a
0600 file, so cursors survive a restart on this machine. Replicas must share a
key: set the variable for them.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from app.settings import Settings

logger = logging.getLogger("stepstream")


def load_secret_keys(settings: Settings) -> list[str]:
    if settings.secret_key:
        return list(settings.secret_key)
    return [_key_from_file(settings.secret_key_file)]


def _key_from_file(path: Path) -> str:
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        logger.info("stepstream: signing key read from %s", path)
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    logger.warning(
        "stepstream: STEPSTREAM_SECRET_KEY is unset; generated a signing key in %s "
        "(set the variable to share one key between replicas)",
        path,
    )
    return key
