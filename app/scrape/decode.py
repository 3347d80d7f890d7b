"""A body decoded as it streams in, stopped as soon as it passes its byte limit.

We inflate gzip, deflate, brotli and zstd ourselves with an output cap on
every call, so a bomb never grows past the limit in memory, not even within
one network chunk (httpx's own decoders inflate a chunk whole). A stream that
ends before its compressed data does (a cut gzip body) is ``invalid_content``,
never a page made of its first few bytes. ``deflate`` is read as browsers read
it: zlib-wrapped, or raw when the first bytes are no zlib header.
"""

from __future__ import annotations

import zlib
from typing import IO, Protocol, cast

import brotli
import zstandard

from app.scrape.errors import ScrapeError

ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class _Inflater(Protocol):
    def inflate(self, data: bytes, room: int) -> bytes:
        """Up to ``room`` bytes of output; the rest of ``data`` is kept for later."""

    def finished(self) -> bool:
        """True when the compressed stream ended where it should."""


class _Zlib:
    """``wbits`` None: deflate, zlib-wrapped or raw, told by its first two bytes."""

    def __init__(self, wbits: int | None) -> None:
        self._inflater = zlib.decompressobj(wbits) if wbits is not None else None
        self._pending = b""
        self._seen = b""

    def inflate(self, data: bytes, room: int) -> bytes:
        if self._inflater is None:
            self._seen += data
            if len(self._seen) < 2:
                return b""
            header = int.from_bytes(self._seen[:2], "big")
            wrapped = self._seen[0] & 0x0F == 8 and header % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._seen = self._seen, b""
        out = self._inflater.decompress(self._pending + data, room)
        self._pending = self._inflater.unconsumed_tail
        return out

    def finished(self) -> bool:
        return self._inflater is not None and self._inflater.eof and not self._pending


class _Brotli:
    def __init__(self) -> None:
        self._inflater = brotli.Decompressor()

    def inflate(self, data: bytes, room: int) -> bytes:
        out: bytes = self._inflater.process(data, output_buffer_limit=room)
        return out

    def finished(self) -> bool:
        return bool(self._inflater.is_finished())


class _Full(Exception):
    """The zstd sink has all the room allows: stop inflating."""


class _Sink:
    def __init__(self) -> None:
        self.out = bytearray()
        self.room = 0
        self.written = 0

    def write(self, data: bytes) -> int:
        self.out += data
        self.written += len(data)
        if len(self.out) > self.room:
            raise _Full
        return len(data)


class _Zstd:
    """zstandard's decompressobj has no output cap; its stream writer hands
    output over in ``write_size`` pieces, so the sink stops it one piece past
    the room. A cut stream is known only when the frame declares its size."""

    def __init__(self) -> None:
        self._sink = _Sink()
        self._writer = zstandard.ZstdDecompressor().stream_writer(
            cast(IO[bytes], self._sink), write_size=64 * 1024, closefd=False
        )
        self._declared: int | None = None

    def inflate(self, data: bytes, room: int) -> bytes:
        if self._declared is None and self._sink.written == 0 and len(data) >= 18:
            size = zstandard.frame_content_size(data[:18])
            self._declared = size if size >= 0 else -1
        self._sink.room = room
        if data:
            try:
                self._writer.write(data)
            except _Full:
                pass
        out, self._sink.out = bytes(self._sink.out), bytearray()
        return out

    def finished(self) -> bool:
        return self._declared is None or self._declared < 0 or self._sink.written == self._declared


def _inflater(content_encoding: str) -> _Inflater | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Zlib(None)
    if encoding == "br":
        return _Brotli()
    if encoding == "zstd":
        return _Zstd()
    raise ScrapeError("invalid_content", f"unsupported content encoding {encoding!r}")


class BoundedBody:
    """Collects decoded bytes up to ``limit``; ``truncated`` tells when it stopped early."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self._inflater = _inflater(content_encoding)
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
        try:
            out = self._inflater.inflate(chunk, self._limit - len(self._data) + 1)
            self._keep(out)
            while not self.truncated and (out := self._inflater.inflate(b"", self._room())):
                self._keep(out)
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            raise ScrapeError("invalid_content", "the compressed body is corrupt") from exc
        return not self.truncated

    def finish(self) -> None:
        """The body ended: a compressed stream cut short is an error."""
        if self._inflater is not None and not self.truncated and not self._inflater.finished():
            raise ScrapeError("invalid_content", "the compressed body ends too soon")

    def _room(self) -> int:
        return self._limit - len(self._data) + 1

    def _keep(self, out: bytes) -> None:
        room = self._limit - len(self._data)
        if len(out) > room:
            self._data += out[:room]
            self.truncated = True
        else:
            self._data += out
