"""A body decoded as it streams in, stopped as soon as it passes its byte limit.

We ask only for gzip (and accept deflate) and inflate them ourselves with zlib's
``max_length``, so a gzip bomb never grows past the limit in memory, not even
within one network chunk (httpx's own decoders inflate a chunk whole).
"""

from __future__ import annotations

import zlib

from app.scrape.errors import ScrapeError

ACCEPT_ENCODING = "gzip"


class BoundedBody:
    """Collects decoded bytes up to ``limit``; ``truncated`` tells when it stopped early."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        else:
            raise ScrapeError("invalid_content", f"unsupported content encoding {encoding!r}")
        self._limit = limit
        self._data = bytearray()
        self.truncated = False

    @property
    def data(self) -> bytes:
        return bytes(self._data)

    def feed(self, chunk: bytes) -> bool:
        """Add a raw chunk; False once the limit is reached (stop reading)."""
        if self._inflater is None:
            self._keep(chunk)
            return not self.truncated
        pending = chunk
        while pending and not self.truncated:
            room = self._limit - len(self._data) + 1
            try:
                out = self._inflater.decompress(pending, room)
            except zlib.error as exc:
                raise ScrapeError("invalid_content", "the compressed body is corrupt") from exc
            self._keep(out)
            pending = self._inflater.unconsumed_tail
        return not self.truncated

    def _keep(self, out: bytes) -> None:
        room = self._limit - len(self._data)
        if len(out) > room:
            self._data += out[:room]
            self.truncated = True
        else:
            self._data += out
