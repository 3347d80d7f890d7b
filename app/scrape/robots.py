"""robots.txt rules per host (RFC 9309), read with Protego.

A 2xx is parsed; any other 4xx means no rules (allow all); a 5xx, a 429 or an
unreachable file means disallow all. The rules are cached per job and origin
in a bounded in-memory cache: only an optimization, a resume elsewhere
fetches the file again (paced like any request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protego import Protego

from app.scrape.lru import LRU

AGENT = "stepstream"
MAX_CRAWL_DELAY = 60.0
ROBOTS_CACHE_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Robots:
    """The rules of one origin: parsed ones, or a blanket allow or disallow."""

    parser: Any = None
    allow_all: bool = True

    @classmethod
    def from_reply(cls, status: int, body: bytes) -> Robots:
        if 200 <= status < 300:
            return cls(Protego.parse(body.decode("utf-8", errors="replace")))
        if 400 <= status < 500 and status != 429:
            return cls(allow_all=True)
        return cls(allow_all=False)

    def allows(self, url: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, AGENT))

    def crawl_delay(self) -> float:
        """The file's Crawl-delay for us, capped; 0 when it sets none."""
        if self.parser is None:
            return 0.0
        value = self.parser.crawl_delay(AGENT)
        return min(float(value), MAX_CRAWL_DELAY) if value else 0.0


RobotsCache = LRU[tuple[str, str], Robots]
"""Rules by (job, origin)."""
