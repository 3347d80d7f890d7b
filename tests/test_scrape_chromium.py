"""Our reading of the corpus pages against Chromium's, field by field.

The suite's site serves tests/corpus.py on 127.0.0.1; the scraper reads every
page, and Chromium reads the same URLs: ``document.title``, the first h1's
``innerText``, the words of ``document.body.innerText`` as ``Intl.Segmenter``
counts them (ICU, as we do), its visible characters, and the http(s) link
``href``s without fragments. The figures go to
``test-output/<test>/agreement.json``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from app.jobs.scrape import ScrapeJob
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.corpus import PAGES
from tests.site import Site
from tests.test_scrape import run, scrape_settings
from tests.test_scrape_read import site_fixture  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

FIELDS = ("title", "h1", "words", "chars", "links")
UNDETECTED = tuple(f"ja-nowhere-{label}-" for label in ("utf-8", "iso-2022-jp"))
"""Deliberate divergence: Chromium never detects UTF-8 or ISO-2022-JP on a page
that does not label it (it shows windows-1252 mojibake in an English locale);
issue 12 asks us to detect both, and we do. Their differences are reported,
not failed."""
READ_AS_CHROMIUM = """() => {
  const text = document.body ? document.body.innerText : "";
  const segmenter = new Intl.Segmenter("ja", {granularity: "word"});
  let words = 0;
  for (const segment of segmenter.segment(text)) if (segment.isWordLike) words++;
  const h1 = document.querySelector("h1");
  const links = Array.from(document.querySelectorAll("a[href], area[href]"))
    .map(a => a.href).filter(href => URL.canParse(href) && /^https?:/.test(href))
    .map(href => href.split("#")[0]);
  return {
    title: document.title,
    h1: h1 ? h1.innerText : null,
    words,
    chars: Array.from(text).filter(c => !/\\s/.test(c)).length,
    links: [...new Set(links)],
  };
}"""


def _text(value: str | None) -> str | None:
    collapsed = re.sub(r"[\t\n\f\r ]+", " ", value or "").strip(" ")
    return collapsed or None


def ours(site: Site) -> dict[str, dict[str, Any]]:
    async def read_all() -> list[dict[str, Any]]:
        job = ScrapeJob(scrape_settings(scrape_min_delay=0))
        try:
            urls = [f"{site.url}/corpus/{name}" for name in PAGES]
            return [step.result for step in await run(job, urls, delay=0, robots=False)]
        finally:
            await job.aclose()

    return {name: result for name, result in zip(PAGES, asyncio.run(read_all()), strict=True)}


def chromiums(site: Site) -> dict[str, dict[str, Any]]:
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for name in PAGES:
                page.goto(f"{site.url}/corpus/{name}")
                seen[name] = page.evaluate(READ_AS_CHROMIUM)
        finally:
            browser.close()
    return seen


def agrees(field: str, our: Any, theirs: Any) -> bool:
    if field in ("title", "h1"):
        return _text(our) == _text(theirs)
    if field == "words":
        return bool(abs(our - theirs) <= 0.1 * max(theirs, 1))
    return bool(our == theirs)


def test_we_read_the_corpus_as_chromium_does(site: Site, output_dir: Path) -> None:
    our, their = ours(site), chromiums(site)
    report: dict[str, Any] = {"pages": len(PAGES), "agreement": {}, "differences": []}
    for field in FIELDS:
        agreeing = [name for name in PAGES if agrees(field, our[name][field], their[name][field])]
        report["agreement"][field] = round(len(agreeing) / len(PAGES), 3)
        report["differences"] += [
            {"page": name, "field": field, "ours": our[name][field], "chromium": their[name][field]}
            for name in PAGES
            if name not in agreeing
        ]
    labelled = [name for name in PAGES if not name.startswith(UNDETECTED)]
    report["agreement_where_chromium_decodes_alike"] = {
        field: round(
            sum(agrees(field, our[name][field], their[name][field]) for name in labelled)
            / len(labelled),
            3,
        )
        for field in FIELDS
    }
    report["words_exact"] = round(
        sum(our[name]["words"] == their[name]["words"] for name in PAGES) / len(PAGES), 3
    )
    (output_dir / "agreement.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps(report["agreement"]), "words exact:", report["words_exact"])  # noqa: T201
    unexpected = [diff for diff in report["differences"] if not diff["page"].startswith(UNDETECTED)]
    assert unexpected == []
