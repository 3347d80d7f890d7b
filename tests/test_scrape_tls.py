"""The scraper over real TLS: the suite's site on 127.0.0.1 with a certificate for
``shop.test`` from a test CA, reached by name through the stub resolver, as a
site on the web is reached. The CA is trusted the way an operator trusts a
private one, through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from app.jobs.scrape import ScrapeJob
from tests.site import Site
from tests.test_scrape import run, scrape_settings
from tests.test_scrape_dial import StubDNS

pytestmark = pytest.mark.anyio


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("shop.test").configure_cert(tls)
    with Site(tls=tls) as running:
        yield running


@pytest.fixture
async def job(site: Site) -> AsyncIterator[ScrapeJob]:
    """Both names resolve to the site; only ``shop.test`` is on its certificate."""
    dns = StubDNS({"shop.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    kind = ScrapeJob(scrape_settings(), resolver=dns)
    yield kind
    await kind.aclose()


async def test_https_pages_share_one_connection_verified_for_their_name(
    job: ScrapeJob, site: Site
) -> None:
    pages = [f"https://shop.test:{site.port}/page/{n}" for n in (1, 2, 3)]
    steps = await run(job, pages)
    assert [step.result["title"] for step in steps] == ["Page 1", "Page 2", "Page 3"]
    assert site.paths() == ["/robots.txt", "/page/1", "/page/2", "/page/3"]
    assert {hit.headers["Host"] for hit in site.hits} == {f"shop.test:{site.port}"}
    assert len({hit.peer for hit in site.hits}) == 1


async def test_a_name_the_certificate_does_not_name_never_rides_its_connection(
    job: ScrapeJob, site: Site
) -> None:
    """``other.test`` resolves to the same address and port as ``shop.test``, whose
    verified connection is kept alive: it gets its own, whose handshake fails."""
    pages = [f"https://shop.test:{site.port}/page/1", f"https://other.test:{site.port}/page/2"]
    shop, other = await run(job, pages, robots=False)
    assert shop.ok
    assert (other.ok, other.result["error"], other.result["attempts"]) == (
        False,
        "connect_error",
        3,
    )
    assert site.paths() == ["/page/1"]
