"""The polite, safe scraper: one URL per step, one result per page.

Params are checked against the settings (the URL cap, the minimum delay, the
refused addresses), so ``parse`` validates with the settings as pydantic's
context. A page that fails is a step with ``ok: false`` and an error code;
the job goes on. The step's state is the per-host pacing windows (see
app/scrape/pacing.py), so a resume keeps the delay.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpcore
import httpx
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from app.jobs.base import JobFailed, JobKind, Params, Step, StepContext
from app.scrape.client import GuardedClient, Resolver, resolve
from app.scrape.errors import ScrapeError
from app.scrape.fetch import PageFetcher, Visit
from app.scrape.guard import is_localhost_name, literal_address, refusal
from app.scrape.pacing import HostSlots, Pacer
from app.scrape.page import HTML_TYPES, check_selector, media_type, read_html
from app.scrape.robots import ROBOTS_CACHE_LIMIT, RobotsCache
from app.settings import Settings

MAX_URL_LENGTH = 2048


def _settings(info: ValidationInfo) -> Settings:
    settings = (info.context or {}).get("settings")
    if not isinstance(settings, Settings):
        raise TypeError("scrape params are validated with the settings as context")
    return settings


def _check_url(value: str, info: ValidationInfo) -> str:
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise ValueError("only http and https URLs can be scraped")
    if not url.host:
        raise ValueError("the URL has no host")
    if is_localhost_name(url.host):
        raise ValueError(f"{url.host} is a localhost name: refused")
    address = literal_address(url.host)
    if address is not None:
        reason = refusal(address, _settings(info).scrape_allow_nets)
        if reason is not None:
            raise ValueError(f"{address} is refused ({reason})")
    return str(url)


def _check_selector(value: str | None) -> str | None:
    if value is not None:
        check_selector(value)
    return value


class ScrapeParams(Params):
    urls: list[Annotated[str, Field(max_length=MAX_URL_LENGTH), AfterValidator(_check_url)]] = (
        Field(
            min_length=1,
            title="URLs",
            description="The pages to fetch, one per step (http or https).",
        )
    )
    delay: float = Field(
        1.0, le=3600, description="Seconds between the starts of two requests to one host."
    )
    timeout: float = Field(15.0, gt=0, le=60, description="Seconds for one request, body included.")
    selector: Annotated[str | None, AfterValidator(_check_selector)] = Field(
        None, min_length=1, max_length=500, description="CSS selector whose matches' text to keep."
    )
    robots: bool = Field(True, description="Obey robots.txt.")

    @field_validator("urls", mode="before")
    @classmethod
    def _not_too_many(cls, urls: object, info: ValidationInfo) -> object:
        """Counted before any URL is checked: 45,000 of them blocked the loop for 0.7 s."""
        limit = _settings(info).scrape_max_urls
        if isinstance(urls, list | tuple) and len(urls) > limit:
            raise ValueError(f"at most {limit} URLs per job")
        return urls

    @field_validator("delay")
    @classmethod
    def _polite_enough(cls, delay: float, info: ValidationInfo) -> float:
        minimum = _settings(info).scrape_min_delay
        if delay < minimum:
            raise ValueError(f"the delay must be at least {minimum:g} s")
        return delay


EMPTY_PAGE: dict[str, Any] = {
    "encoding": None,
    "encoding_source": None,
    "title": None,
    "description": None,
    "h1": None,
    "links": [],
    "refresh": None,
    "words": None,
    "chars": None,
    "matches": None,
}


def _result(url: str, visit: Visit, selector: str | None) -> dict[str, Any]:
    reply = visit.reply
    error = visit.error.code if visit.error is not None else None
    content_type = None
    page = EMPTY_PAGE
    if reply is not None and error is None:
        header = reply.headers.get("content-type")
        content_type = media_type(header, reply.body)
        if not 200 <= reply.status < 300:
            error = "http_status"
        elif reply.truncated:
            error = "too_large"
        elif content_type in HTML_TYPES:
            try:
                page = read_html(reply.body, header, content_type, visit.final_url, selector)
            except ScrapeError as exc:
                error = exc.code
    return {
        "url": url,
        "final_url": visit.final_url,
        "status": reply.status if reply is not None and str(reply.url) == visit.final_url else None,
        "ok": error is None,
        "content_type": content_type,
        "bytes": len(reply.body) if reply is not None else 0,
        "elapsed_ms": round(reply.elapsed * 1000, 1) if reply is not None else None,
        **page,
        "attempts": visit.attempts,
        "error": error,
    }


class ScrapeJob(JobKind[ScrapeParams]):
    name = "scrape"
    title = "Scrape"
    description = "Fetch pages politely, one per step: title, headings, links and words."
    params_model = ScrapeParams
    query_aliases = {"url": "urls"}

    def __init__(
        self,
        settings: Settings,
        network: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._settings = settings
        user_agent = settings.scrape_user_agent.format(contact=settings.scrape_contact_url)
        self._client = GuardedClient(
            user_agent, settings.scrape_allow_nets, network=network, resolver=resolver
        )
        self._robots = RobotsCache(ROBOTS_CACHE_LIMIT)
        self._slots = HostSlots()

    def parse(self, raw: dict[str, Any]) -> ScrapeParams:
        return self.params_model.model_validate(raw, context={"settings": self._settings})

    def total(self, params: ScrapeParams) -> int:
        return len(params.urls)

    async def step(self, ctx: StepContext[ScrapeParams]) -> Step:
        params = ctx.params
        job = ctx.job_id
        try:
            pacer = Pacer(ctx.state, self._slots, checkpoint=ctx.checkpoint)
        except ValueError as exc:
            raise JobFailed("invalid_state", str(exc)) from exc
        fetcher = PageFetcher(
            self._client,
            self._robots,
            pacer,
            job=job,
            delay=params.delay,
            timeout=params.timeout,
            obey_robots=params.robots,
            max_bytes=self._settings.scrape_max_bytes,
        )
        url = params.urls[ctx.index]
        result = _result(url, await fetcher.visit(url), params.selector)
        return Step(result, result["ok"], pacer.state())

    async def aclose(self) -> None:
        await self._client.aclose()
