"""Where the signing keys come from.

With ``STEPSTREAM_SECRET_KEY`` unset, a random key is made once and kept in a
0600 file, so cursors survive a restart on this machine. Replicas must share a
key: set the variable for them.

Several workers start at once (``uvicorn --workers 8``) and must all end with
the one key, or a resume on another worker is refused. Each opens the file
(creating it if absent, never through a symlink) and takes an exclusive lock
on it; under the lock, the first finds it empty and writes its key, the others
read that key. A file someone left empty (``touch``) is filled the same way.
Directories made for it are 0700 whatever the umask.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import stat
from pathlib import Path

from app.settings import Settings

logger = logging.getLogger("stepstream")

_MAX_KEY_FILE = 4096


class KeyFileError(RuntimeError):
    """The key file cannot be used safely: the server does not start."""


def load_secret_keys(settings: Settings) -> list[str]:
    if settings.secret_key:
        return list(settings.secret_key)
    return [_key_from_file(settings.secret_key_file)]


def _key_from_file(path: Path) -> str:
    try:
        key, generated = _read_or_make_key(path)
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            raise KeyFileError(
                f"stepstream: {path} is a symlink; refusing to follow it for the signing key "
                "(remove it, or set STEPSTREAM_SECRET_KEY)"
            ) from exc
        raise KeyFileError(f"stepstream: cannot use {path} for the signing key: {exc}") from exc
    if not generated:
        logger.info("stepstream: signing key read from %s", path)
        return key
    logger.warning(
        "stepstream: STEPSTREAM_SECRET_KEY is unset; generated a signing key in %s "
        "(set the variable to share one key between replicas)",
        path,
    )
    return key


def _read_or_make_key(path: Path) -> tuple[str, bool]:
    """The key in ``path``, or a new one written there: (key, whether it is new)."""
    _make_private_parents(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode != 0o600:
            os.fchmod(fd, 0o600)
            logger.warning("stepstream: %s had mode %04o; it is now 0600", path, mode)
        key = os.read(fd, _MAX_KEY_FILE).decode().strip()
        if key:
            return key, False
        key = secrets.token_urlsafe(32)
        os.write(fd, (key + "\n").encode())
        os.fsync(fd)
        return key, True
    finally:
        os.close(fd)  # and with it the lock


def _make_private_parents(directory: Path) -> None:
    """Create missing directories 0700: ``mkdir(parents=True)`` makes the
    intermediate ones 0777 under umask 000."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue  # another worker made it first
        os.chmod(path, 0o700)
