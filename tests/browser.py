"""Drive the page in a real Chromium: the fixtures, actions and reads every page test needs.

Page test modules import its fixtures (``browser_fixture``, ``page_fixture``) to use
``browser`` and ``page``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(name="page")
def page_fixture(browser: Browser) -> Iterator[Page]:
    """A fresh profile per test (its own localStorage); fails the test on any script error."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def start_sleep(page: Page, steps: int | str, wait: float | str) -> None:
    page.get_by_label("Steps").fill(str(steps))
    page.get_by_label("Seconds per step").fill(str(wait))
    page.get_by_role("button", name="Start").click()


def badge_state(page: Page, state: str, timeout: float) -> None:
    expect(page.locator("#badge")).to_have_attribute("data-state", state, timeout=timeout * 1000)


def row_indexes(page: Page) -> list[int]:
    indexes: list[int] = page.eval_on_selector_all(
        "#results tbody tr", "rows => rows.map(r => Number(r.dataset.index))"
    )
    return indexes


def wait_rows(page: Page, count: int, timeout: float) -> None:
    expect(page.locator("#results tbody tr")).to_have_count(count, timeout=timeout * 1000)


def wait_at_least_rows(page: Page, count: int, timeout: float) -> None:
    expect(page.locator(f"#results tbody tr >> nth={count - 1}")).to_be_attached(
        timeout=timeout * 1000
    )


def download(page: Page, button: str, folder: Path) -> str:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target.read_text()


def download_json(page: Page, folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(download(page, "Download JSON", folder))
    return data


def download_csv(page: Page, folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(download(page, "Download CSV", folder))))
