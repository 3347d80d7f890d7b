"""How the scraper reads pages: encodings, text, links and compression, as the
suite's own site serves them on 127.0.0.1 (the bytes in tests/corpus.py).
What Chromium makes of the same pages is in test_scrape_chromium.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from app.jobs.scrape import ScrapeJob
from tests.corpus import JAPANESE, PAGES
from tests.site import COMPRESSORS, Site, page_html
from tests.test_scrape import run, scrape_settings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", name="site")
def site_fixture() -> Iterator[Site]:
    """One test site for a module of tests that only read pages (none counts requests)."""
    with Site() as running:
        yield running


@pytest.fixture(name="job")
async def job_fixture() -> AsyncIterator[ScrapeJob]:
    kind = ScrapeJob(scrape_settings(scrape_min_delay=0))
    yield kind
    await kind.aclose()


async def read(job: ScrapeJob, url: str) -> dict[str, Any]:
    [step] = await run(job, [url], robots=False, delay=0)
    return step.result


def typed(site: Site, body: str, content_type: str | None = None) -> str:
    url = f"{site.url}/typed?body={quote(body)}"
    return url + (f"&type={quote(content_type)}" if content_type is not None else "")


async def test_every_corpus_page_is_decoded_as_a_browser_decodes_it(
    job: ScrapeJob, site: Site
) -> None:
    """Japanese pages labelled in the header, in meta, nowhere; WHATWG labels
    (Shift_JIS is cp932, ISO-8859-1 is windows-1252); BOMs; a bogus header charset."""
    wrong = []
    for page in PAGES.values():
        result = await read(job, f"{site.url}/corpus/{page.name}")
        got = (result["encoding"], result["encoding_source"])
        if got != (page.encoding, page.encoding_source):
            wrong.append((page.name, got))
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "title", "h1"),
    [
        ("latin1-http-equiv", "Stéphane à Paris", "Stéphane à Paris"),
        ("latin1-header-c1", "Quotes “here” – done", "Quotes “here” – done"),
        ("sjis-x-label", "①㈱髙島屋のお知らせ", "①㈱髙島屋のお知らせ"),
        ("utf8-bom", "Byte order mark", "Byte order mark"),
        ("utf16-bom", "Sixteen bits", "Sixteen bits"),
        ("ja-nowhere-iso-2022-jp-2", "記事2：吾輩は猫であ", "記事2：吾輩は猫であ"),
    ],
)
async def test_titles_come_out_right(
    job: ScrapeJob, site: Site, name: str, title: str, h1: str
) -> None:
    result = await read(job, f"{site.url}/corpus/{name}")
    assert (result["title"], result["h1"]) == (title, h1)


async def test_text_is_read_as_a_browser_lays_it_out(job: ScrapeJob, site: Site) -> None:
    """Inline elements join words, blocks and <br> split them; hidden, template,
    noscript, script and style are not text; no-break spaces count as spaces."""
    result = await read(job, f"{site.url}/corpus/text-inline")
    assert result["h1"] == "interfaces¶"
    assert result["title"] == "Inline\xa0elements"
    # interfaces | Python and Java | new line | one | two | first | second | non breaking
    assert result["words"] == 1 + 3 + 2 + 1 + 1 + 1 + 1 + 2
    assert result["chars"] == len("interfaces¶PythonandJavanewlineonetwofirstsecondnonbreaking")


async def test_the_documents_own_title_not_an_svgs(job: ScrapeJob, site: Site) -> None:
    result = await read(job, f"{site.url}/corpus/text-svg-title")
    assert result["title"] == "Real title"
    assert result["h1"] == "Fish\xa0&\xa0chips"


async def test_japanese_words_are_segmented(job: ScrapeJob, site: Site) -> None:
    """A 26-character Japanese paragraph of two sentences is many words, not one."""
    result = await read(job, f"{site.url}/corpus/text-japanese-words")
    assert result["words"] > 20 * len(JAPANESE)
    assert result["chars"] == len("日本語の単語") + sum(len(text) for text in JAPANESE)


async def test_links_resolve_by_the_whatwg_rules(job: ScrapeJob, site: Site) -> None:
    """Backslashes are slashes, tabs and newlines vanish, spaces are trimmed, and
    https://a.example, https://a.example/ and HTTPS://A.EXAMPLE:443/ are one link."""
    result = await read(job, f"{site.url}/corpus/text-links")
    assert result["links"] == [
        "http://other/path",
        f"{site.url}/abc",
        "https://a.example/",
        f"{site.url}/trim",
    ]


async def test_meta_refresh_target_is_reported(job: ScrapeJob, site: Site) -> None:
    body = '<meta http-equiv="Refresh" content="3; URL=\'/next page\'"><p>moved</p>'
    result = await read(job, typed(site, body, "text/html"))
    assert result["refresh"] == f"{site.url}/next%20page"


async def test_xhtml_is_parsed_as_xml(job: ScrapeJob, site: Site) -> None:
    """``<h1/>`` is an empty element in XML: the heading after it is the second h1's."""
    body = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head>'
        "<body><h1/><p>after</p><h1><![CDATA[a < b]]></h1></body></html>"
    )
    result = await read(job, typed(site, body, "application/xhtml+xml"))
    assert result["ok"] and result["h1"] is None and result["words"] == 3
    broken = await read(job, typed(site, "<html><p></html>", "application/xhtml+xml"))
    assert (broken["ok"], broken["error"]) == (False, "invalid_content")
    nested = await read(job, f"{site.url}/deep?levels=5000&type=application/xhtml%2Bxml")
    assert (nested["ok"], nested["error"]) == (False, "invalid_content")
    as_html = await read(job, f"{site.url}/deep?levels=5000")
    assert (as_html["ok"], as_html["words"]) == (True, 1)


@pytest.mark.parametrize(
    ("body", "media"),
    [
        ("  <!DOCTYPE html><title>T</title>", "text/html"),
        ("<p>para", "text/html"),
        ("<?xml version='1.0'?><a/>", "text/xml"),
        ("just words", "text/plain"),
    ],
)
async def test_no_content_type_is_sniffed(
    job: ScrapeJob, site: Site, body: str, media: str
) -> None:
    result = await read(job, typed(site, body))
    assert result["content_type"] == media
    assert (result["title"] is not None) is (media == "text/html" and "title" in body)


@pytest.mark.parametrize("scheme", list(COMPRESSORS))
async def test_compressed_bodies_are_inflated(job: ScrapeJob, site: Site, scheme: str) -> None:
    result = await read(job, f"{site.url}/encoded/{scheme}")
    assert (result["ok"], result["bytes"], result["title"]) == (
        True,
        len(page_html(3)) * 20,
        "Page 3",
    )
    assert "br" in site.hits[-1].headers["Accept-Encoding"]
    assert "zstd" in site.hits[-1].headers["Accept-Encoding"]


@pytest.mark.parametrize("scheme", ["gzip", "deflate", "raw-deflate", "br"])
async def test_a_cut_compressed_body_is_invalid(job: ScrapeJob, site: Site, scheme: str) -> None:
    """Half a gzip body is an error, not a page made of its first bytes."""
    result = await read(job, f"{site.url}/encoded/{scheme}?cut=1")
    assert (result["ok"], result["error"], result["title"]) == (False, "invalid_content", None)


async def test_a_stream_cut_before_its_length_is_not_a_page(job: ScrapeJob, site: Site) -> None:
    result = await read(job, f"{site.url}/cut")
    assert result["ok"] is False and result["title"] is None
