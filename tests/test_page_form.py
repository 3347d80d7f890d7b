"""The page's form, drawn from a kind's JSON Schema alone, in a real Chromium.

The kind (tests/page_kinds.py) has a param of every shape and echoes what it
was sent, so each control is checked both as drawn and as read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    download_csv,
    download_json,
    page_fixture,  # noqa: F401  (a fixture)
)
from tests.servers import Server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(output_dir: Path) -> Iterator[Server]:
    env = {"STEPSTREAM_HEARTBEAT": "1", "STEPSTREAM_KINDS": "sleep,tests.page_kinds:everything"}
    with Server(env, log_path=output_dir / "server.log") as running:
        yield running


def field(page: Page, label: str) -> Locator:
    return page.get_by_label(label, exact=True)


def test_each_param_gets_a_control_with_its_schema_limits(server: Server, page: Page) -> None:
    page.goto(server.url)
    page.get_by_label("Every field").check()
    expect(page.locator("#kind-description")).to_have_text("Echoes its params at every step.")
    count = field(page, "Count of steps")
    expect(count).to_have_attribute("type", "number")
    expect(count).to_have_value("2")
    for name, value in {"min": "1", "max": "5", "step": "1"}.items():
        expect(count).to_have_attribute(name, value)
    expect(page.locator("#param-count-hint")).to_have_text("How many echoes. From 1 to 5.")
    ratio = field(page, "Ratio")
    for name, value in {"min": "0", "max": "1", "step": "0.25"}.items():
        expect(ratio).to_have_attribute(name, value)
    expect(page.locator("#param-ratio-hint")).to_have_text("A share. Over 0, at most 1.")
    expect(page.locator("#param-limit-hint")).to_have_text("No limit when empty. At least 0.")
    expect(field(page, "Name")).to_have_attribute("maxlength", "12")
    expect(field(page, "Name")).to_have_value("ada")
    expect(field(page, "Loud")).not_to_be_checked()
    assert field(page, "Mode").locator("option").all_inner_texts() == ["fast", "slow"]
    expect(field(page, "Mode")).to_have_value("0")
    assert field(page, "Colour").locator("option").all_inner_texts() == ["red", "green"]
    expect(field(page, "Colour")).to_have_value("1")
    expect(page.get_by_label("Limit")).to_have_value("")
    expect(page.locator("label[for=param-limit]")).to_have_text("Limit (optional)")
    assert page.get_by_label("Strict").locator("option").all_inner_texts() == [
        "–",
        "true",
        "false",
    ]
    expect(field(page, "Tags")).to_have_value("")
    expect(page.locator("#param-tags-hint")).to_have_text(
        "Free words. One per line. At most 4 lines."
    )
    expect(field(page, "Sizes")).to_have_value("1\n2")


def test_values_go_as_typed_and_results_flatten_apart_from_the_steps_own_fields(
    server: Server, page: Page, output_dir: Path
) -> None:
    page.goto(server.url)
    page.get_by_label("Every field").check()
    field(page, "Ratio").fill("0.75")
    field(page, "Name").fill("bob")
    field(page, "Loud").check()
    field(page, "Mode").select_option(label="slow")
    field(page, "Colour").select_option(label="red")
    page.get_by_label("Limit").fill("7")
    page.get_by_label("Strict").select_option(label="false")
    field(page, "Tags").fill("a\n  b c \n\n")
    field(page, "Sizes").fill("3\n4\n")
    page.get_by_role("button", name="Start").click()
    badge_state(page, "finished", 15)

    echo = {
        "count": 2,
        "ratio": 0.75,
        "name": "bob",
        "loud": True,
        "mode": "slow",
        "colour": "red",
        "limit": 7,
        "strict": False,
        "tags": ["a", "b c"],
        "sizes": [3, 4],
    }
    data = download_json(page, output_dir)
    assert [s["result"] for s in data["steps"]] == [
        {"ok": "echoed", "elapsed_ms": n, "echo": echo} for n in range(2)
    ]
    headers = page.locator("#results thead th").all_inner_texts()
    assert headers[:4] == ["#", "OK", "result.ok", "result.elapsed_ms"]
    assert headers[-1] == "Time" and "echo.name" in headers and "echo.tags" in headers
    first = page.locator("#results tbody tr").first
    expect(first.locator("td[data-column='result.ok']")).to_have_text("echoed")
    expect(first.locator("td[data-column='echo.tags']")).to_have_text("a, b c")
    expect(first.locator("td[data-column='echo.loud']")).to_have_text("yes")
    rows = download_csv(page, output_dir)
    assert [(r["ok"], r["result.ok"], r["result.elapsed_ms"]) for r in rows] == [
        ("true", "echoed", "0"),
        ("true", "echoed", "1"),
    ]
    assert rows[0]["echo.tags"] == '["a","b c"]' and rows[0]["echo.strict"] == "false"


def test_optional_fields_left_empty_go_as_null(
    server: Server, page: Page, output_dir: Path
) -> None:
    page.goto(server.url)
    page.get_by_label("Every field").check()
    field(page, "Count of steps").fill("1")
    page.get_by_role("button", name="Start").click()
    badge_state(page, "finished", 15)
    echo = download_json(page, output_dir)["steps"][0]["result"]["echo"]
    assert echo["limit"] is None and echo["strict"] is None and echo["tags"] == []


def test_each_invalid_value_is_shown_by_its_own_field(server: Server, page: Page) -> None:
    page.goto(server.url)
    page.get_by_label("Every field").check()
    field(page, "Ratio").fill("0.3")
    page.get_by_label("Limit").fill("-1")
    field(page, "Sizes").fill("1\nmany")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#param-ratio-error")).to_contain_text("multiple of 0.25")
    expect(page.locator("#param-limit-error")).to_contain_text("greater than or equal to 0")
    expect(page.locator("#param-sizes-error")).to_contain_text("Line 2:")
    expect(field(page, "Ratio")).to_be_focused()
    expect(field(page, "Sizes")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-error")).to_have_text("The job's params are invalid.")
    expect(page.locator("#run")).to_be_hidden()
