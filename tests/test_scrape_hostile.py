"""Hostile pages, redirects and cursors (issue 14): each is that page's
``ok: false`` with an error code, or a clean ``invalid_state``, never a crash.

Names that would need DNS go through the stub resolver of test_scrape_dial.py,
so no lookup leaves this machine.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from app.jobs.base import JobFailed
from app.jobs.scrape import ScrapeJob
from tests.contexts import context
from tests.site import Site
from tests.test_scrape import scrape_settings
from tests.test_scrape_dial import Recorder, StubDNS, scrape
from tests.test_scrape_read import (
    job_fixture,  # noqa: F401  (a fixture)
    read,
    site_fixture,  # noqa: F401  (a fixture)
    typed,
)

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    "charset", ["rot13", "undefined", "zlib", "base64", "hex", "idna", "utf-7"]
)
async def test_a_charset_that_is_no_web_encoding_is_ignored(
    job: ScrapeJob, site: Site, charset: str
) -> None:
    """Python codecs by those names would crash or transform the bytes; they are
    not WHATWG labels, so the next source decides (here: the default)."""
    result = await read(job, typed(site, "<title>Plain</title>", f"text/html; charset={charset}"))
    assert result["ok"] and result["title"] == "Plain"
    assert (result["encoding"], result["encoding_source"]) == ("utf-8", "default")


async def test_an_invalid_base_href_is_ignored(job: ScrapeJob, site: Site) -> None:
    body = '<base href="http://[::1"><a href="/next">next</a>'
    result = await read(job, typed(site, body, "text/html"))
    assert result["ok"] and result["links"] == [f"{site.url}/next"]


@pytest.mark.parametrize(
    "location", ["data:text/html,hi", "javascript:alert(1)", "file:///etc/passwd", "http://[::1"]
)
async def test_a_redirect_to_no_web_url_is_invalid(
    job: ScrapeJob, site: Site, location: str
) -> None:
    result = await read(job, f"{site.url}/to?location={quote(location)}")
    assert (result["ok"], result["error"]) == (False, "invalid_redirect")
    assert result["final_url"] == f"{site.url}/to?location={quote(location)}"


async def test_a_scheme_relative_looking_redirect_resolves_as_browsers_do(
    job: ScrapeJob, site: Site
) -> None:
    """``http:host:9/x`` on an http page is a path relative to that page."""
    result = await read(job, f"{site.url}/to?location=http:host:9/x")
    assert result["final_url"] == f"{site.url}/host:9/x"
    assert (result["ok"], result["error"], result["status"]) == (False, "http_status", 404)


async def test_https_host_redirect_goes_through_the_guard() -> None:
    """``https:host`` from an http page is https://host/: checked like any name."""
    recorder = Recorder(redirect_to="https:host")
    dns = StubDNS({"public.test": [[PUBLIC]], "host": [["10.0.0.1"]]})
    step = await scrape("http://public.test/", dns, recorder, robots=False)
    assert (step.result["error"], step.result["final_url"]) == ("blocked", "https://host/")
    assert recorder.dialed == [PUBLIC]


async def test_a_redirect_to_a_name_idna_refuses_is_invalid() -> None:
    recorder = Recorder(redirect_to="http://xn--n3h.test/")
    dns = StubDNS({"public.test": [[PUBLIC]]})
    step = await scrape("http://public.test/", dns, recorder, robots=False)
    assert step.result["error"] == "invalid_redirect"
    assert recorder.dialed == [PUBLIC]
    assert dns.lookups == ["public.test"]


def test_a_url_idna_refuses_is_an_invalid_param() -> None:
    job = ScrapeJob(scrape_settings())
    with pytest.raises(ValidationError) as caught:
        job.parse({"urls": ["http://xn--n3h.test/"]})
    assert caught.value.errors()[0]["loc"] == ("urls", 0)


@pytest.mark.parametrize(
    "moment",
    [math.inf, -math.inf, math.nan, 1e308, 10**400, -1, "soon", True, None, time.time() + 86400],
)
async def test_a_pacing_window_out_of_range_is_refused_at_once(
    job: ScrapeJob, site: Site, moment: Any
) -> None:
    """A validly signed cursor whose window is Infinity or 1e308 hung a batch forever,
    and 10**400 crashed the step: the step now refuses the state before any request."""
    params = job.parse({"urls": [f"{site.url}/page/1"], "delay": 0, "robots": False})
    before = len(site.hits)
    started = time.monotonic()
    with pytest.raises(JobFailed) as caught:
        await job.step(context(params, 0, {"127.0.0.1": moment}))
    assert caught.value.code == "invalid_state"
    assert time.monotonic() - started < 1
    assert len(site.hits) == before


@pytest.mark.parametrize("state", [["127.0.0.1", 1.0], "x", 3])
async def test_a_pacing_state_of_the_wrong_shape_is_refused(
    job: ScrapeJob, site: Site, state: Any
) -> None:
    params = job.parse({"urls": [f"{site.url}/page/1"], "delay": 0, "robots": False})
    with pytest.raises(JobFailed, match="mapping"):
        await job.step(context(params, 0, state))


async def test_a_past_window_is_fine(job: ScrapeJob, site: Site) -> None:
    params = job.parse({"urls": [f"{site.url}/page/1"], "delay": 0, "robots": False})
    step = await job.step(context(params, 0, {"127.0.0.1": 1.0, "other.example": time.time() + 5}))
    assert step.ok
