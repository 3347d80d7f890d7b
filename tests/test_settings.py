"""Every setting is documented, and settings come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings

SETTINGS_DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    assert f"`STEPSTREAM_{name.upper()}`" in SETTINGS_DOC.read_text()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPSTREAM_HEARTBEAT", "2.5")
    monkeypatch.setenv("STEPSTREAM_SCRAPE_ALLOW_NETS", "127.0.0.1/32, 10.0.0.0/8")
    settings = Settings()
    assert settings.heartbeat == 2.5
    assert [str(net) for net in settings.scrape_allow_nets] == ["127.0.0.1/32", "10.0.0.0/8"]


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPSTREAM_HEARTBEAT", "0")
    with pytest.raises(ValueError):
        Settings()
