"""Kinds written outside the package, run on the page with no page code for them."""

from __future__ import annotations

from collections.abc import Iterator
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
    wait_at_least_rows,
)
from tests.servers import Server

pytestmark = pytest.mark.browser

PLUGINS = "sleep,scrape,tests.plugin_kinds:blocking,tests.plugin_kinds:reporting"


@pytest.fixture
def server(output_dir: Path) -> Iterator[Server]:
    env = {"STEPSTREAM_HEARTBEAT": "1", "STEPSTREAM_KINDS": PLUGINS}
    with Server(env, log_path=output_dir / "server.log") as running:
        yield running


def start_work(page: Page, kind: str, steps: int, seconds: float) -> None:
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("Steps").fill(str(steps))
    page.get_by_label("Seconds").fill(str(seconds))
    page.get_by_role("button", name="Start").click()


def test_every_served_kind_is_offered(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.locator("#kinds label")).to_have_text(
        ["Count", "Scrape", "Blocking work", "Reporting"]
    )
    expect(page.get_by_label("Count", exact=True)).to_be_checked()
    page.get_by_label("Blocking work", exact=True).check()
    expect(page.locator("#params label")).to_have_text(["Steps", "Seconds", "Log"])
    expect(page.get_by_label("Steps")).to_have_value("3")
    expect(page.get_by_label("Steps")).to_have_attribute("max", "100")
    expect(page.get_by_label("Log")).to_have_attribute("maxlength", "500")
    expect(page.locator("#param-seconds-hint")).to_have_text(
        "Seconds each step blocks. From 0 to 30."
    )


def test_blocking_kind_is_started_watched_and_downloaded(
    server: Server, page: Page, output_dir: Path
) -> None:
    page.goto(server.url)
    start_work(page, "Blocking work", 4, 0.3)
    expect(page.locator("#run-title")).to_have_text("Blocking work")
    badge_state(page, "finished", 15)
    assert row_indexes(page) == [0, 1, 2, 3]
    expect(page.locator("#results thead th")).to_have_text(["#", "OK", "done", "Time"])
    expect(page.locator("#results td[data-column=done]")).to_have_text(["1", "2", "3", "4"])
    data = download_json(page, output_dir)
    assert data["kind"] == "blocking" and data["total"] == 4
    assert [s["result"] for s in data["steps"]] == [{"done": n} for n in range(1, 5)]
    rows = download_csv(page, output_dir)
    assert [(r["index"], r["ok"], r["done"]) for r in rows] == [
        (str(n), "true", str(n + 1)) for n in range(4)
    ]


# Whether the progress line was hidden as each step's row went in (before any
# later progress event could be handled).
HIDDEN_AT_EACH_ROW = """() => {
  window.hiddenAtEachRow = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node.nodeName === "TR") {
          window.hiddenAtEachRow.push(document.getElementById("step-progress").hidden);
        }
      }
    }
  }).observe(document.querySelector("#results tbody"), { childList: true });
}"""


def test_progress_shows_under_the_step_being_run_until_it_arrives(
    server: Server, page: Page, output_dir: Path
) -> None:
    page.goto(server.url)
    page.evaluate(HIDDEN_AT_EACH_ROW)
    start_work(page, "Reporting", 3, 2.5)
    line = page.locator("#step-progress-text")
    expect(line).to_have_text("Step 1: part 2 of 5 (20 %)", timeout=5000)
    expect(page.locator("#step-bar")).to_have_attribute("value", "0.2")
    page.screenshot(path=output_dir / "progress.png", full_page=True)
    wait_at_least_rows(page, 1, 10)
    expect(line).to_contain_text("Step 2: part", timeout=5000)
    badge_state(page, "finished", 15)
    expect(page.locator("#step-progress")).to_be_hidden()
    assert page.evaluate("window.hiddenAtEachRow") == [True, True, True]
    assert [s["result"] for s in download_json(page, output_dir)["steps"]] == [{"parts": 5}] * 3
    assert [r["parts"] for r in download_csv(page, output_dir)] == ["5", "5", "5"]
