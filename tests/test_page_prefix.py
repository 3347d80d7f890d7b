"""The page of an app mounted under /jobs in a host app (tests/host_app.py): every
request it makes stays under the prefix, through a start, a reload and a resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    download_json,
    page_fixture,  # noqa: F401  (a fixture)
    row_indexes,
    start_sleep,
    wait_at_least_rows,
)
from tests.servers import Server

pytestmark = pytest.mark.browser


def hosted_server(env: dict[str, str], log_path: Path) -> Server:
    """The host app, with stepstream mounted at /jobs."""
    return Server(env, log_path=log_path, app="tests.host_app:app", health_path="/jobs/healthz")


@pytest.fixture
def hosted(output_dir: Path) -> Iterator[Server]:
    with hosted_server({"STEPSTREAM_HEARTBEAT": "1"}, output_dir / "server.log") as server:
        yield server


def paths_requested(page: Page) -> list[str]:
    paths: list[str] = []
    page.on("request", lambda request: paths.append(urlsplit(request.url).path))
    return paths


def test_a_mounted_page_starts_watches_and_resumes_under_its_prefix(
    hosted: Server, page: Page, output_dir: Path
) -> None:
    paths = paths_requested(page)
    page.goto(f"{hosted.url}/jobs/")
    start_sleep(page, 12, 0.3)
    badge_state(page, "live", 5)
    wait_at_least_rows(page, 3, 10)
    page.reload()
    expect(page.locator("#resume-offer")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    badge_state(page, "resumed", 10)
    badge_state(page, "finished", 15)
    assert row_indexes(page) == list(range(12))
    assert [s["index"] for s in download_json(page, output_dir)["steps"]] == list(range(12))
    assert "/jobs/api/kinds" in paths and "/jobs/api/jobs" in paths
    assert sum(p.startswith("/jobs/api/jobs/") and p.endswith("/events") for p in paths) >= 2
    assert [p for p in paths if not p.startswith("/jobs/")] == []
