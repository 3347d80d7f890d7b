"""The page's JSON fallback asks for less time after a batch fails at a proxy.

A batch longer than a proxy's timeout gets the proxy's own 502/504 (or no answer)
every time, so after the first such failure the page asks for a budget
(`{"cursor", "budget"}`) of 5 s, then half that each time down to 1 s, and a
buffering proxy with a short timeout still works untuned. Until then it asks
for none: the server's own setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    page_fixture,  # noqa: F401  (a fixture)
    row_indexes,
    start_sleep,
)
from tests.buffering_proxy import BufferingProxy
from tests.servers import Server
from tests.test_page_prefix import hosted_server

pytestmark = pytest.mark.browser


def budgets_asked(page: Page) -> list[Any]:
    budgets: list[Any] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/steps"):
            budgets.append((request.post_data_json or {}).get("budget"))

    page.on("request", note)
    return budgets


def test_batches_cut_by_a_proxy_timeout_halve_their_budget_under_the_prefix(
    page: Page, output_dir: Path
) -> None:
    """The server's budget is its default 10 s; the proxy gives up after 2 s with a 502."""
    with (
        hosted_server({"STEPSTREAM_HEARTBEAT": "1"}, output_dir / "server.log") as server,
        BufferingProxy(server.url, timeout=2) as proxy,
    ):
        budgets = budgets_asked(page)
        page.goto(f"{proxy.url}/jobs/")
        start_sleep(page, 40, 0.2)  # longer than the page waits for the held-back stream
        badge_state(page, "fallback", 10)
        badge_state(page, "finished", 60)
        assert row_indexes(page) == list(range(40))
        assert budgets[:4] == [None, 5, 2.5, 1.25] and set(budgets[4:]) == {1.25}
        assert [line for line in proxy.requests if " /jobs/" not in line] == []


def test_network_errors_halve_the_budget_down_to_one_second(server: Server, page: Page) -> None:
    """No answer at all (a proxy that hangs up) counts as a failure at the proxy."""
    page.route("**/events*", lambda route: route.abort())  # so the page falls back at once
    refusals = 5

    def hang_up_first(route: Route) -> None:
        nonlocal refusals
        refusals -= 1
        if refusals >= 0:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/steps", hang_up_first)
    budgets = budgets_asked(page)
    page.goto(server.url)
    start_sleep(page, 4, 0.1)
    badge_state(page, "reconnecting", 5)
    badge_state(page, "finished", 30)
    assert row_indexes(page) == list(range(4))
    assert budgets == [None, 5, 2.5, 1.25, 1, 1]


def test_our_own_503_is_not_taken_for_a_proxy(server: Server, page: Page) -> None:
    """A JSON error of the server's own is an answer about the job, not a proxy failing."""
    body = '{"error": {"code": "shutting_down", "message": "This server is stopping."}}'
    page.route("**/events*", lambda route: route.abort())
    page.route(
        "**/steps",
        lambda route: route.fulfill(status=503, body=body, content_type="application/json"),
    )
    budgets = budgets_asked(page)
    page.goto(server.url)
    start_sleep(page, 4, 0.1)
    badge_state(page, "failed", 10)
    expect(page.locator("#notice")).to_contain_text("This server is stopping.")
    assert budgets == [None]


def test_a_batch_cut_inside_a_step_hands_its_checkpoint_to_the_next(
    page: Page, output_dir: Path
) -> None:
    """The next batch starts from the cursor a batch returns, not from its last event's id."""
    env = {"STEPSTREAM_KINDS": "tests.page_kinds:booking", "STEPSTREAM_STEP_BUDGET": "1"}
    asked: list[Any] = []
    answered: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            asked.append((r.post_data_json or {}).get("cursor"))
            if r.url.endswith("/steps")
            else None
        ),
    )
    page.on("response", lambda r: answered.append(r.json()) if r.url.endswith("/steps") else None)
    page.route("**/events*", lambda route: route.abort())
    with Server(env, log_path=output_dir / "server.log") as server:
        page.goto(server.url)
        page.get_by_role("button", name="Start").click()
        badge_state(page, "finished", 20)
    assert row_indexes(page) == [0, 1, 2]
    checkpoints = [b["cursor"] for b in answered if b["cursor"] != b["events"][-1]["id"]]
    assert checkpoints, "no batch was cut inside a step"
    assert asked[1:] == [b["cursor"] for b in answered[:-1]]
