"""Where the scraper would connect, seen on a network backend that records instead of dialing.

Names resolve through a stub, so addresses off this machine (10.x, the cloud
metadata address, fd00::) can be tested without a packet ever leaving it.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import pytest
from pydantic import ValidationError

from app.jobs.base import Step
from app.jobs.scrape import ScrapeJob
from app.scrape.client import CheckedDialer, resolve
from app.scrape.guard import IPAddress
from tests.contexts import context
from tests.site import page_html
from tests.test_scrape import scrape_settings

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"


@dataclass
class Sent:
    """One request as it went out: the address and port dialled, the TLS server
    name asked for (None on plain http), the request target and its headers."""

    address: str
    port: int
    server_name: str | None
    target: str
    headers: dict[str, str]


class Connection(httpcore.AsyncNetworkStream):
    """A dialled connection that answers each request written to it, kept alive."""

    def __init__(self, recorder: Recorder, address: str, port: int) -> None:
        self._recorder = recorder
        self._address = address
        self._port = port
        self.server_name: str | None = None
        self._unread = b""
        self._answers: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._unread += buffer
        while b"\r\n\r\n" in self._unread:
            head, _, self._unread = self._unread.partition(b"\r\n\r\n")
            request_line, *lines = head.decode("ascii").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines)
            sent = Sent(
                self._address, self._port, self.server_name, request_line.split()[1], headers
            )
            self._recorder.requests.append(sent)
            self._answers.append(self._recorder.answer(sent))

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._answers.pop(0) if self._answers else b""

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.server_name = server_hostname
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class Recorder(httpcore.AsyncNetworkBackend):
    """A network backend that records where it is asked to dial and each request
    sent, and answers them: robots.txt 404, then a page or a redirect."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.connections: list[Connection] = []
        self.requests: list[Sent] = []
        self.redirect_to = redirect_to

    async def connect_tcp(
        self, host: str, port: int, *options: Any, **named_options: Any
    ) -> httpcore.AsyncNetworkStream:
        connection = Connection(self, host, port)
        self.connections.append(connection)
        return connection

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def answer(self, sent: Sent) -> bytes:
        if sent.target == "/robots.txt":
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        if self.redirect_to is not None:
            location = self.redirect_to.encode()
            return b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
        html = page_html(1)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(html)}\r\n\r\n"
        return head.encode() + html

    @property
    def dialed(self) -> list[str]:
        """The address each request went to."""
        return [sent.address for sent in self.requests]


class StubDNS:
    """Answers from a table, a new answer per lookup when given several (rebinding)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        answers = self.table[host]
        answer = answers[min(self.lookups.count(host), len(answers) - 1)]
        self.lookups.append(host)
        return [ipaddress.ip_address(address) for address in answer]


async def scrape(
    url: str, dns: StubDNS, recorder: Recorder, allow: list[str] | None = None, **params: Any
) -> Step:
    settings = scrape_settings(scrape_allow_nets=allow or [])
    job = ScrapeJob(settings, network=recorder, resolver=dns)
    try:
        parsed = job.parse({"urls": [url], "delay": 0.1, **params})
        return await job.step(context(parsed, 0, None))
    finally:
        await job.aclose()


@pytest.mark.parametrize(
    "answer",
    [["169.254.169.254"], ["10.0.0.5"], ["fd00::1"], [PUBLIC, "10.0.0.1"], ["::ffff:10.0.0.1"]],
)
@pytest.mark.parametrize("robots", [True, False])
async def test_a_name_resolving_to_a_refused_address_is_blocked_unsent(
    answer: list[str], robots: bool
) -> None:
    recorder = Recorder()
    step = await scrape("http://intranet.test/", StubDNS({"intranet.test": [answer]}), recorder)
    assert not step.ok
    assert step.result["error"] == "blocked"
    assert recorder.requests == []


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept() -> None:
    recorder = Recorder()
    dns = StubDNS({"intranet.test": [["10.0.0.5"]]})
    step = await scrape("https://intranet.test:8443/a", dns, recorder, allow=["10.0.0.0/8"])
    assert step.ok and step.result["title"] == "Page 1"
    assert recorder.dialed == ["10.0.0.5", "10.0.0.5"]
    assert len(recorder.connections) == 1  # robots.txt's, kept alive for the page
    page = recorder.requests[-1]
    assert (page.port, page.target) == (8443, "/a")
    assert page.headers["host"] == "intranet.test:8443"
    assert page.server_name == "intranet.test"


async def test_a_kept_alive_connection_carries_only_its_own_name() -> None:
    """Two names on one address get a connection each, each verified for its own
    name; the pages of one name share theirs."""
    recorder = Recorder()
    dns = StubDNS({"a.test": [[PUBLIC]], "b.test": [[PUBLIC]]})
    urls = ["https://a.test/1", "https://b.test/1", "https://a.test/2"]
    job = ScrapeJob(scrape_settings(scrape_allow_nets=[]), network=recorder, resolver=dns)
    try:
        parsed = job.parse({"urls": urls, "delay": 0.1, "robots": False})
        state = None
        for index in range(len(urls)):
            step = await job.step(context(parsed, index, state))
            assert step.ok
            state = step.state
    finally:
        await job.aclose()
    assert [connection.server_name for connection in recorder.connections] == ["a.test", "b.test"]
    assert [
        (sent.server_name, sent.headers["host"], sent.target) for sent in recorder.requests
    ] == [
        ("a.test", "a.test", "/1"),
        ("b.test", "b.test", "/1"),
        ("a.test", "a.test", "/2"),
    ]


async def test_the_dialer_refuses_a_name_not_checked_for_the_request() -> None:
    recorder = Recorder()
    with pytest.raises(httpcore.ConnectError):
        await CheckedDialer(recorder).connect_tcp("a.test", 443)
    assert recorder.connections == []


async def test_dns_rebinding_gets_no_window() -> None:
    """The first answer is public, later ones private: every request is checked on its
    own answer and sent to that very address, never to a name resolved again."""
    recorder = Recorder()
    dns = StubDNS({"shifty.test": [[PUBLIC], ["10.0.0.1"]]})
    step = await scrape("http://shifty.test/", dns, recorder)
    assert recorder.dialed == [PUBLIC]  # robots.txt, on the checked public address
    assert step.result["error"] == "blocked"


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/", "http://db.test/"]
)
async def test_a_redirect_to_a_refused_address_is_not_followed(target: str) -> None:
    recorder = Recorder(redirect_to=target)
    dns = StubDNS({"public.test": [[PUBLIC]], "db.test": [["10.1.1.1"]]})
    step = await scrape("http://public.test/", dns, recorder, robots=False)
    assert step.result["error"] == "blocked"
    assert step.result["final_url"] == target
    assert recorder.dialed == [PUBLIC]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://10.0.0.1/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://127.0.0.1/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://Localhost./",
        "http://my.app.localhost/",
    ],
)
def test_refused_literal_addresses_are_invalid_params(url: str) -> None:
    job = ScrapeJob(scrape_settings(scrape_allow_nets=[]))
    with pytest.raises(ValidationError) as caught:
        job.parse({"urls": ["https://example.org/", url]})
    [error] = caught.value.errors()
    assert error["loc"] == ("urls", 1)
    assert "refused" in error["msg"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_the_real_resolver_returns_every_address_parsed(host: str) -> None:
    """A numeric host: getaddrinfo answers without asking DNS (no packet leaves)."""
    assert await resolve(host, 80) == [ipaddress.ip_address(host)]
