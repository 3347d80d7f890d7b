"""Where the scraper would connect, seen on a transport that records instead of dialing.

Names resolve through a stub, so addresses off this machine (10.x, the cloud
metadata address, fd00::) can be tested without a packet ever leaving it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.jobs.base import Step
from app.jobs.scrape import ScrapeJob
from app.scrape.client import resolve
from app.scrape.guard import IPAddress
from tests.contexts import context
from tests.site import page_html
from tests.test_scrape import scrape_settings

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"


class Recorder:
    """A transport's handler: records each request it would send and answers it."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.redirect_to = redirect_to

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if self.redirect_to is not None:
            return httpx.Response(302, headers={"Location": self.redirect_to})
        html = httpx.ByteStream(page_html(1))
        return httpx.Response(200, stream=html, headers={"Content-Type": "text/html"})

    @property
    def dialed(self) -> list[str]:
        return [request.url.host for request in self.requests]


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
    job = ScrapeJob(settings, transport=httpx.MockTransport(recorder), resolver=dns)
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
    page = recorder.requests[-1]
    assert str(page.url) == "https://10.0.0.5:8443/a"
    assert page.headers["Host"] == "intranet.test:8443"
    assert page.extensions["sni_hostname"] == "intranet.test"


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
