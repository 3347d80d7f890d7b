"""The browser page in a real Chromium against a real uvicorn: the person's view."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    badge_state,
    browser_fixture,  # noqa: F401  (a fixture)
    download_csv,
    download_json,
    page_fixture,  # noqa: F401  (a fixture)
    row_indexes,
    start_sleep,
    wait_at_least_rows,
    wait_rows,
)
from tests.buffering_proxy import BufferingProxy
from tests.servers import Server, wait_until
from tests.threaded_http import ThreadedHTTPServer

pytestmark = pytest.mark.browser

FAST = {"STEPSTREAM_HEARTBEAT": "1"}


def test_sleep_job_runs_to_the_end(server: Server, page: Page, output_dir: Path) -> None:
    page.goto(server.url)
    start_sleep(page, 8, 0.3)
    badge_state(page, "live", 5)
    wait_at_least_rows(page, 3, 10)
    page.screenshot(path=output_dir / "running.png", full_page=True)
    badge_state(page, "finished", 15)
    assert row_indexes(page) == list(range(8))
    expect(page.locator("#progress-text")).to_have_text("Step 8 of 8")
    assert page.eval_on_selector("#bar", "bar => bar.value / bar.max") == 1
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    page.screenshot(path=output_dir / "finished.png", full_page=True)

    data = download_json(page, output_dir)
    assert data["kind"] == "sleep" and data["total"] == 8 and data["job"]
    assert [s["index"] for s in data["steps"]] == list(range(8))
    assert [s["result"] for s in data["steps"]] == [{"count": n} for n in range(1, 9)]
    assert all(s["ok"] is True and s["elapsed_ms"] >= 250 for s in data["steps"])
    rows = download_csv(page, output_dir)
    assert [(r["index"], r["ok"], r["count"]) for r in rows] == [
        (str(n), "true", str(n + 1)) for n in range(8)
    ]


def test_server_killed_mid_job_page_reconnects_and_resumes(
    server: Server, page: Page, output_dir: Path
) -> None:
    page.goto(server.url)
    start_sleep(page, 16, 0.3)
    wait_at_least_rows(page, 4, 10)
    server.kill()
    badge_state(page, "reconnecting", 5)
    page.screenshot(path=output_dir / "reconnecting.png", full_page=True)
    with Server(FAST, port=server.port, log_path=output_dir / "server2.log"):
        badge_state(page, "resumed", 20)
        expect(page.locator("#badge")).to_contain_text("Resumed at step")
        badge_state(page, "finished", 20)
    assert row_indexes(page) == list(range(16))
    assert [s["index"] for s in download_json(page, output_dir)["steps"]] == list(range(16))


def test_reloaded_tab_offers_to_continue_and_finishes(server: Server, page: Page) -> None:
    page.goto(server.url)
    start_sleep(page, 14, 0.3)
    wait_at_least_rows(page, 4, 10)
    page.reload()
    expect(page.locator("#resume-offer")).to_be_visible()
    kept = row_indexes(page)
    assert len(kept) >= 4 and kept == list(range(len(kept)))
    badge_state(page, "paused", 2)
    page.get_by_role("button", name="Continue").click()
    badge_state(page, "resumed", 10)
    badge_state(page, "finished", 15)
    assert row_indexes(page) == list(range(14))


def test_buffering_proxy_makes_the_page_fall_back_to_batches(page: Page, output_dir: Path) -> None:
    env = {**FAST, "STEPSTREAM_STEP_BUDGET": "1"}
    with (
        Server(env, log_path=output_dir / "server.log") as server,
        BufferingProxy(server.url) as proxy,
    ):
        page.goto(proxy.url)
        start_sleep(page, 12, 0.4)
        badge_state(page, "fallback", 10)
        expect(page.locator("#notice")).to_contain_text("batches")
        badge_state(page, "finished", 20)
        assert row_indexes(page) == list(range(12))
        assert sum("/steps" in line for line in proxy.requests) >= 2


def test_invalid_params_are_shown_next_to_their_field(server: Server, page: Page) -> None:
    page.goto(server.url)
    page.get_by_label("Steps").fill("0")
    page.get_by_label("Seconds per step").fill("-1")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Steps")).to_be_focused()
    expect(page.locator("#param-steps-error")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#param-wait-error")).to_contain_text("greater than or equal to 0")
    expect(page.get_by_label("Steps")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#run")).to_be_hidden()


def test_tampered_job_token_is_explained(server: Server, page: Page) -> None:
    created = httpx.post(
        f"{server.url}/api/jobs", json={"kind": "sleep", "params": {"steps": 3, "wait": 0}}
    ).json()
    token = created["job"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    saved = {
        **created,
        "job": tampered,
        "events_url": created["events_url"].replace(token, tampered),
        "steps_url": created["steps_url"].replace(token, tampered),
        "cursor": None,
        "steps": [],
        "startedAt": 0,
        "status": "running",
    }
    page.goto(server.url)
    page.evaluate("saved => localStorage.setItem('stepstream.job', JSON.stringify(saved))", saved)
    page.reload()
    page.get_by_role("button", name="Continue").click()
    badge_state(page, "failed", 10)
    expect(page.locator("#notice")).to_contain_text("refused this job's token")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """A tiny local website on loopback: two pages; anything else is a 404."""
    (tmp_path / "a.html").write_text("<title>Page A</title><h1>A</h1><p>one two three</p>")
    (tmp_path / "b.html").write_text("<title>Page B</title><h1>B</h1><a href='a.html'>a</a>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with ThreadedHTTPServer(handler) as httpd:
        yield httpd.url


def test_scrape_of_a_local_site_shows_the_failing_url(
    site: str, page: Page, output_dir: Path
) -> None:
    env = {
        **FAST,
        "STEPSTREAM_SCRAPE_ALLOW_NETS": "127.0.0.1/32",
        "STEPSTREAM_SCRAPE_MIN_DELAY": "0.1",
    }
    with Server(env, log_path=output_dir / "server.log") as server:
        page.goto(server.url)
        page.get_by_label("Scrape", exact=True).check()
        page.get_by_label("Delay").fill("0.1")
        page.get_by_label("URLs").fill(f"{site}/a.html\nnot a url")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#param-urls-error")).to_contain_text("Line 2:")
        urls = [f"{site}/a.html", f"{site}/missing.html", f"{site}/b.html"]
        page.get_by_label("URLs").fill("\n".join(urls))
        page.get_by_role("button", name="Start").click()
        badge_state(page, "finished", 20)
        wait_rows(page, 3, 1)
        page.screenshot(path=output_dir / "scrape.png", full_page=True)
    rows = page.locator("#results tbody tr")
    expect(rows.nth(0)).to_contain_text("Page A")
    link = rows.nth(0).locator("td[data-column=url] a")
    expect(link).to_have_attribute("href", f"{site}/a.html")
    expect(rows.nth(1)).to_have_attribute("data-ok", "false")
    expect(rows.nth(1)).to_contain_text("404")
    expect(rows.nth(2)).to_contain_text("Page B")
    expect(page.locator("#failed")).to_have_text("1")
    rows_csv = download_csv(page, output_dir)
    assert [(r["index"], r["ok"], r["status"], r["error"]) for r in rows_csv] == [
        ("0", "true", "200", ""),
        ("1", "false", "404", "http_status"),
        ("2", "true", "200", ""),
    ]
    assert rows_csv[0]["title"] == "Page A" and "result.elapsed_ms" in rows_csv[0]


def open_streams(server: Server) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith("stepstream_open_streams "):
            return float(line.split()[1])
    raise AssertionError("no stepstream_open_streams metric")


def test_stop_closes_the_stream_and_continue_finishes(server: Server, page: Page) -> None:
    page.goto(server.url)
    start_sleep(page, 10, 0.3)
    wait_at_least_rows(page, 2, 10)
    page.get_by_role("button", name="Stop").click()
    badge_state(page, "stopped", 2)
    expect(page.locator("#notice")).to_contain_text("Stopped after")
    wait_until(lambda: open_streams(server) == 0, 5, what="the server to close the stream")
    page.get_by_role("button", name="Continue").click()
    badge_state(page, "finished", 15)
    assert row_indexes(page) == list(range(10))
