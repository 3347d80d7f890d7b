"""A server with API keys: the page asks for one on a 401, keeps it for the tab, retries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    page_fixture,  # noqa: F401  (a fixture)
    start_sleep,
)
from tests.servers import Server

pytestmark = pytest.mark.browser

KEY = "page-test-key-0123456789"


@pytest.fixture
def server(output_dir: Path) -> Iterator[Server]:
    env = {"STEPSTREAM_HEARTBEAT": "1", "STEPSTREAM_API_KEYS": f"other-key,{KEY}"}
    with Server(env, log_path=output_dir / "server.log") as running:
        yield running


def test_a_401_asks_for_the_key_inline_and_the_tab_keeps_it(server: Server, page: Page) -> None:
    starts: list[Request] = []
    page.on("request", lambda r: starts.append(r) if r.url.endswith("/api/jobs") else None)
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto(server.url)
    key_field = page.get_by_label("API key")
    expect(key_field).to_be_hidden()
    start_sleep(page, 2, 0.1)
    expect(key_field).to_be_visible()
    expect(key_field).to_be_focused()
    expect(page.locator("#api-key-hint")).to_contain_text("asks for an API key")
    expect(page.locator("#run")).to_be_hidden()

    key_field.fill("wrong-key")
    key_field.press("Enter")
    expect(page.locator("#api-key-hint")).to_contain_text("refused that key")
    expect(key_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#run")).to_be_hidden()

    key_field.fill(KEY)
    page.get_by_role("button", name="Start").click()
    badge_state(page, "finished", 10)
    expect(key_field).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('stepstream.apiKey')") == KEY
    assert page.evaluate("localStorage.getItem('stepstream.job')").find(KEY) == -1

    page.reload()  # a second job from the same tab: no prompt, the kept key goes along
    start_sleep(page, 1, 0)
    badge_state(page, "finished", 10)
    expect(key_field).to_be_hidden()
    sent = [r.headers.get("authorization") for r in starts]
    assert sent == [None, "Bearer wrong-key", f"Bearer {KEY}", f"Bearer {KEY}"]


def test_a_new_tab_asks_again(server: Server, page: Page) -> None:
    page.goto(server.url)
    page.evaluate(f"sessionStorage.setItem('stepstream.apiKey', '{KEY}')")
    fresh = page.context.new_page()  # sessionStorage is per tab
    fresh.goto(server.url)
    start_sleep(fresh, 1, 0)
    expect(fresh.get_by_label("API key")).to_be_visible()
    fresh.close()
