"""The example kind on the page in Chromium: started, watched and downloaded, with no
page code written for it (the form, the columns and the files come from the server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    download_csv,
    download_json,
    page_fixture,  # noqa: F401  (a fixture)
    row_indexes,
)
from tests.example_env import (
    serve,
    server_venv_fixture,  # noqa: F401  (a fixture)
)
from tests.slow_api import SlowApi

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]  # the first run builds a venv


def test_the_example_is_started_watched_and_downloaded(
    server_venv: Path, page: Page, output_dir: Path
) -> None:
    page.set_default_timeout(10_000)
    items = ["a", "bb", "ccc"]
    with SlowApi(delay=1.0) as api, serve(server_venv, output_dir) as server:
        page.goto(server.url)
        page.get_by_label("Look up", exact=True).check()
        page.get_by_label("API", exact=True).fill(api.url)
        page.get_by_label("Items", exact=True).fill("\n".join(items))
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#run-title")).to_have_text("Look up")
        expect(page.get_by_text(re.compile(r"asking about (a|bb|ccc)"))).to_be_visible()
        badge_state(page, "finished", 20)
        assert row_indexes(page) == [0, 1, 2]
        data = download_json(page, output_dir)
        rows = download_csv(page, output_dir)
    assert data["kind"] == "lookup" and data["total"] == 3
    assert [step["result"]["answer"] for step in data["steps"]] == [
        {"item": item, "length": len(item)} for item in items
    ]
    assert [(row["index"], row["item"], row["answer.length"]) for row in rows] == [
        (str(n), item, str(len(item))) for n, item in enumerate(items)
    ]
    assert api.asked == dict.fromkeys(items, 1)
