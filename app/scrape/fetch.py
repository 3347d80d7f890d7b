"""One page, politely: robots.txt, the per-host delay, retries and redirects.

Every request (robots.txt, each retry, each redirect hop) waits its host's
turn, and every hop goes through the guarded client again, so a redirect to
a refused address is refused like a typed one.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import httpx

from app.scrape.client import GuardedClient, Reply
from app.scrape.errors import RETRYABLE, ErrorCode, ScrapeError
from app.scrape.pacing import Pacer
from app.scrape.robots import Robots, RobotsCache
from app.scrape.urls import WEB_SCHEMES, resolve

MAX_REDIRECTS = 5
MAX_RETRIES = 2
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_CAP = 30.0
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class Visit:
    """Where a page fetch ended: the last reply, the requests it took, why it failed."""

    final_url: str
    reply: Reply | None
    attempts: int
    error: ScrapeError | None = None


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta or HTTP date), or None."""
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    seconds: float = moment.timestamp() - now
    return max(0.0, seconds)


def _backoff(delay: float, retry: int) -> float:
    return max(1.0, delay) * 2.0 ** (retry - 1)


class PageFetcher:
    """Fetches pages for one step; the pacer carries the hosts' windows between steps."""

    def __init__(
        self,
        client: GuardedClient,
        robots: RobotsCache,
        pacer: Pacer,
        *,
        job: str,
        delay: float,
        timeout: float,
        obey_robots: bool,
        max_bytes: int,
    ) -> None:
        self._client = client
        self._robots = robots
        self._pacer = pacer
        self._job = job
        self._delay = delay
        self._timeout = timeout
        self._obey_robots = obey_robots
        self._max_bytes = max_bytes
        self._attempts = 0

    async def visit(self, url: str) -> Visit:
        final, reply = url, None
        try:
            current = request_url(url, "invalid_url")
            final = str(current)
            for _ in range(MAX_REDIRECTS + 1):
                if self._obey_robots and not (await self._rules(current)).allows(final):
                    raise ScrapeError("robots_disallowed", f"robots.txt disallows {current.path}")
                reply = await self._with_retries(current, self._max_bytes)
                location = reply.headers.get("location")
                if reply.status not in REDIRECT_STATUSES or not location:
                    return Visit(final, reply, self._attempts)
                current = _redirect(current, location)
                final = str(current)
            raise ScrapeError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")
        except ScrapeError as exc:
            return Visit(final, reply, self._attempts, exc)

    def _host_delay(self, url: httpx.URL) -> float:
        rules = self._robots.get((self._job, _origin(url))) if self._obey_robots else None
        return max(self._delay, rules.crawl_delay() if rules else 0.0)

    async def _rules(self, url: httpx.URL) -> Robots:
        origin = _origin(url)
        rules = self._robots.get((self._job, origin))
        if rules is None:
            rules = await self._fetch_robots(url)
            self._robots.put((self._job, origin), rules)
        return rules

    async def _fetch_robots(self, url: httpx.URL) -> Robots:
        """The rules for ``url``'s origin; redirects are followed (RFC 9309: five)."""
        robots_url = url.copy_with(path="/robots.txt", query=None, fragment=None)
        for _ in range(MAX_REDIRECTS + 1):
            reply = await self._request(robots_url, self._delay, ROBOTS_MAX_BYTES)
            location = reply.headers.get("location")
            if reply.status not in REDIRECT_STATUSES or not location:
                rules = Robots.from_reply(reply.status, reply.body)
                self._pacer.defer(url.host, rules.crawl_delay())
                return rules
            robots_url = _redirect(robots_url, location)
        return Robots(allow_all=True)

    async def _request(self, url: httpx.URL, delay: float, body_limit: int) -> Reply:
        """One request in its host's turn (see Pacer.turn)."""
        async with self._pacer.turn(url.host, delay):
            return await self._client.get(url, timeout=self._timeout, body_limit=body_limit)

    async def _with_retries(self, url: httpx.URL, body_limit: int) -> Reply:
        for retry in range(MAX_RETRIES + 1):
            self._attempts += 1
            last_try = retry == MAX_RETRIES
            try:
                reply = await self._request(url, self._host_delay(url), body_limit)
            except ScrapeError as exc:
                if exc.code not in RETRYABLE or last_try:
                    raise
                self._pacer.defer(url.host, _backoff(self._delay, retry + 1))
                continue
            if reply.status not in RETRY_STATUSES or last_try:
                return reply
            wait = retry_after(reply.headers, time.time())
            if wait is not None and wait > RETRY_AFTER_CAP:
                return reply
            self._pacer.defer(
                url.host, wait if wait is not None else _backoff(self._delay, retry + 1)
            )
        raise AssertionError("unreachable: the last try returns or raises")


def request_url(url: str, code: ErrorCode) -> httpx.URL:
    """``url`` (WHATWG-serialised) as httpx sends it; one httpx cannot take
    (a host IDNA 2008 refuses, as ``xn--n3h.test``) fails with ``code``."""
    try:
        parsed = httpx.URL(url)
        parsed.host.encode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise ScrapeError(code, f"cannot request {url!r}: {exc}") from exc
    return parsed


def _redirect(current: httpx.URL, location: str) -> httpx.URL:
    """Where a ``Location`` leads, resolved by the WHATWG rules; only http(s)."""
    target = resolve(str(current), location)
    if target is None:
        raise ScrapeError("invalid_redirect", f"Location {location[:100]!r} is not a URL")
    if not target.startswith(WEB_SCHEMES):
        raise ScrapeError("invalid_redirect", f"redirect to a {target.split(':')[0]!r} URL")
    return request_url(target.partition("#")[0], "invalid_redirect")


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"
