"""One guarded HTTP request: resolve, check every address, connect to the one checked.

The URL is rewritten to the checked address (the ``Host`` header and TLS SNI
keep the name), so there is no window for DNS rebinding between the check and
the connection. Redirects are not followed here: fetch.py checks every hop.
Connections are not kept alive, so a pooled connection can never carry a
request for another name than the one its TLS session was made for.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from app.scrape.decode import ACCEPT_ENCODING, BoundedBody
from app.scrape.errors import ScrapeError
from app.scrape.guard import IPAddress, IPNetwork, is_localhost_name, literal_address, refusal

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


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
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._allow_nets = tuple(allow_nets)
        self._resolver = resolver
        self._transport = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._headers = {
            "Accept": "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": user_agent,
        }

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
        except httpx.TransportError as exc:
            raise ScrapeError("connect_error", f"{type(exc).__name__}: {exc}") from exc

    async def _get(self, url: httpx.URL, body_limit: int | None) -> Reply:
        address = await self.checked_address(url)
        extensions = {}
        if url.scheme == "https" and literal_address(url.host) is None:
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        # A request sent on the transport, not through a client: httpx's client
        # parses a redirect's Location by its own rules and raises on some a
        # browser follows.
        request = httpx.Request(
            "GET",
            url.copy_with(host=str(address)),
            headers={"Host": url.netloc.decode("ascii"), **self._headers},
            extensions=extensions,
        )
        started = time.perf_counter()
        response = await self._transport.handle_async_request(request)
        data, truncated = b"", False
        try:
            if body_limit is not None and response.is_success:
                body = BoundedBody(response.headers.get("content-encoding", ""), body_limit)
                async for chunk in response.aiter_raw():
                    if not body.feed(chunk):
                        break
                else:
                    body.finish()
                data, truncated = body.data, body.truncated
        finally:
            await response.aclose()
        elapsed = time.perf_counter() - started
        return Reply(url, response.status_code, response.headers, data, truncated, elapsed)

    async def aclose(self) -> None:
        await self._transport.aclose()
