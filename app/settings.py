"""Every setting, read once from ``STEPSTREAM_*`` environment variables.

Each field is documented in the README's settings table; a test fails when one
is missing there.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_secret_file() -> Path:
    return Path.home() / ".local" / "state" / "stepstream" / "secret_key"


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEPSTREAM_", frozen=True)

    secret_key: Annotated[list[str], NoDecode] = Field(default_factory=list)
    secret_key_file: Path = Field(default_factory=_default_secret_file)
    token_max_age: float = Field(24 * 3600, gt=0)
    heartbeat: float = Field(15.0, gt=0, le=3600)
    retry_ms: int = Field(2000, ge=0, le=600_000)
    max_stream_seconds: float = Field(0.0, ge=0)
    max_streams: int = Field(10_000, ge=1)
    max_streams_per_client: int = Field(32, ge=1)
    max_batch_events: int = Field(500, ge=1, le=100_000)
    max_token_bytes: int = Field(6000, ge=256, le=16384)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    kinds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    step_budget: float = Field(10.0, gt=0, le=600)
    max_body: int = Field(1024 * 1024, ge=1024)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    static_dir: Path = Path(__file__).resolve().parent.parent / "static"

    scrape_max_urls: int = Field(500, ge=1, le=100_000)
    scrape_min_delay: float = Field(0.5, ge=0)
    scrape_max_bytes: int = Field(5_000_000, ge=1024)
    scrape_allow_nets: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = (
        Field(default_factory=list)
    )
    scrape_user_agent: str = "stepstream/0.1 (+{contact})"
    scrape_contact_url: str = "https://github.com/stepstream/stepstream"

    @field_validator(
        "secret_key", "api_keys", "kinds", "cors_origins", "scrape_allow_nets", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_commas(value)
