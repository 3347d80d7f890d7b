"""One guarded HTTP request: resolve, check every address, dial only the one checked.

Each request's host name is resolved and every address it has is checked;
the connection pool then keeps the name (the ``Host`` header, TLS SNI and the
certificate check all use it), and its network backend dials the address
checked for this very request, never a name resolved again, so DNS rebinding
has no window. Connections are pooled by name, scheme and port: a kept-alive
connection only ever carries requests for the name it was opened and verified
for, to an address that was checked when it was dialled. Redirects are not
followed here: fetch.py checks every hop.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from app.scrape.decode import ACCEPT_ENCODING, BoundedBody
from app.scrape.errors import ScrapeError
from app.scrape.guard import IPAddress, IPNetwork, is_localhost_name, literal_address, refusal

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

# Idle connections kept per process, and for how long (httpx's defaults, within
# most servers' own idle limits): at a polite delay of a second or two a site
# sees one connection, not one a page, and an https page costs no handshake.
KEEPALIVE_CONNECTIONS = 20
KEEPALIVE_SECONDS = 5.0
# Requests in flight at once, over all jobs (httpx's default); more wait their turn.
MAX_CONNECTIONS = 100
# The most of an unwanted body (a redirect's, a 404's) read to keep its connection.
DRAIN_BYTES = 64 * 1024
_TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.TimeoutException,
    httpcore.UnsupportedProtocol,
)

# The (name, address) the guard checked for the request the current task sends.
_checked: ContextVar[tuple[str, IPAddress] | None] = ContextVar("checked", default=None)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, with the event loop's async getaddrinfo."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ScrapeError("connect_error", f"cannot resolve {host}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = literal_address(str(info[4][0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    return addresses


class CheckedDialer(httpcore.AsyncNetworkBackend):
    """A network backend that dials only the address checked for the request
    being sent, and only for the name it was checked for."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        checked = _checked.get()
        if checked is None or checked[0] != host:
            raise httpcore.ConnectError(f"{host} was not checked for this request")
        return await self._backend.connect_tcp(
            str(checked[1]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the scraper dials no Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Reply:
    """A response: its status and headers, and the body when one was asked for."""

    url: httpx.URL
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed: float


class GuardedClient:
    def __init__(
        self,
        user_agent: str,
        allow_nets: Sequence[IPNetwork],
        network: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._allow_nets = tuple(allow_nets)
        self._resolver = resolver
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
            network_backend=CheckedDialer(network or httpcore.AnyIOBackend()),
        )
        self._headers = [
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
            (b"User-Agent", user_agent.encode("ascii")),
        ]

    async def checked_address(self, url: httpx.URL) -> IPAddress:
        """The address to connect to for ``url``, after checking all it resolves to."""
        host = url.raw_host.decode("ascii")
        if is_localhost_name(host):
            raise ScrapeError("blocked", f"{host} is a localhost name")
        literal = literal_address(host)
        addresses = [literal] if literal else await self._resolver(host, url.port or 0)
        if not addresses:
            raise ScrapeError("connect_error", f"{host} has no address")
        for address in addresses:
            reason = refusal(address, self._allow_nets)
            if reason is not None:
                raise ScrapeError("blocked", f"{host} resolves to {address} ({reason})")
        return addresses[0]

    async def get(self, url: httpx.URL, *, timeout: float, body_limit: int | None) -> Reply:
        """GET ``url`` within ``timeout`` seconds; the body is read only for a 2xx
        and when ``body_limit`` is given."""
        try:
            async with asyncio.timeout(timeout):
                return await self._get(url, body_limit)
        except TimeoutError as exc:
            raise ScrapeError("timeout", f"no complete answer within {timeout:g} s") from exc
        except _TRANSPORT_ERRORS as exc:
            raise ScrapeError("connect_error", f"{type(exc).__name__}: {exc}") from exc

    async def _get(self, url: httpx.URL, body_limit: int | None) -> Reply:
        address = await self.checked_address(url)
        # A request straight to the pool: httpx's client parses a redirect's
        # Location by its own rules and raises on some a browser follows.
        request = httpcore.Request(
            b"GET",
            httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=[(b"Host", url.netloc), *self._headers],
        )
        started = time.perf_counter()
        token = _checked.set((url.raw_host.decode("ascii"), address))
        try:
            response = await self._pool.handle_async_request(request)
        finally:
            _checked.reset(token)
        headers = httpx.Headers(response.headers)
        data, truncated = b"", False
        try:
            if body_limit is not None and 200 <= response.status < 300:
                body = BoundedBody(headers.get("content-encoding", ""), body_limit)
                async for chunk in response.aiter_stream():
                    if not body.feed(chunk):
                        break
                else:
                    body.finish()
                data, truncated = body.data, body.truncated
            else:
                await _drain(response)
        finally:
            await response.aclose()
        elapsed = time.perf_counter() - started
        return Reply(url, response.status, headers, data, truncated, elapsed)

    async def aclose(self) -> None:
        await self._pool.aclose()


async def _drain(response: httpcore.Response) -> None:
    """Read a short body nobody needs (a redirect's, a 404's) to its end, so its
    connection can be kept alive; a longer one is left, and the connection closed."""
    left = DRAIN_BYTES
    async for chunk in response.aiter_stream():
        left -= len(chunk)
        if left < 0:
            return
