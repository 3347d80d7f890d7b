"""Server CPU per scraped page: our scrape step against httpx plus the parser alone.

A corpus of pages with many links (as documentation sites have) is written to
a temporary folder and served on loopback by ``bench.static_server``, in its
own process, so its CPU is not counted: keeping connections alive (HTTP/1.1,
as real servers do) or closing each after its page (HTTP/1.0). In this
process, side by side in each round: (a) the baseline, an httpx client
fetching each page and resiliparse (our parser) parsing it, and (b)
``ScrapeJob.step`` on each page, everything a step does (guard, pacing,
decoding, text, words, links). The figure is process CPU seconds per page;
``python -m bench.scrape_cpu [pages] [--corpus FOLDER]`` runs it alone, for
both servers, on our pages or on real ones (a folder of HTML documentation).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from resiliparse.parse.html import HTMLTree

from app.jobs import StepContext
from app.jobs.scrape import ScrapeJob
from app.settings import Settings
from bench.servers import free_port

LINKS = 150
PARAGRAPHS = 40


def corpus_page(n: int) -> str:
    links = " ".join(
        f'<a href="../{section}/page-{n + k}.html#s{k}">Section {k} of <em>page</em> {n + k}</a>'
        for k, section in ((k, ("guide", "api", "howto")[k % 3]) for k in range(LINKS))
    )
    text = " ".join(
        f"<p>Paragraph {p} explains <code>interfaces</code> and <b>ty</b>pes: the quick brown "
        f"fox jumps over the lazy dog, twice, then rests. 日本語の文も少しあります。</p>"
        for p in range(PARAGRAPHS)
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Page {n}</title></head>'
        f"<body><nav>{links}</nav><h1>Page {n}<a href='#top'>¶</a></h1>{text}</body></html>"
    )


def _write_corpus(folder: Path, pages: int) -> list[str]:
    names = []
    for n in range(pages):
        name = f"page-{n}.html"
        (folder / name).write_text(corpus_page(n), encoding="utf-8")
        names.append(name)
    return names


def _real_pages(folder: Path, pages: int) -> list[str]:
    found = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.html"))
    if not found:
        raise SystemExit(f"no .html files under {folder}")
    return found[:pages]


async def _baseline(urls: list[str]) -> float:
    async with httpx.AsyncClient() as client:
        started = time.process_time()
        for url in urls:
            response = await client.get(url)
            HTMLTree.parse(response.text)
        return time.process_time() - started


async def _ours(job: ScrapeJob, urls: list[str]) -> float:
    params = job.parse({"urls": urls, "delay": 0, "robots": False})
    started, state = time.process_time(), None
    for index in range(len(urls)):
        ctx = StepContext(params, index, len(urls), state, "bench", lambda *report: None)
        step = await job.step(ctx)
        if not step.ok:
            raise RuntimeError(f"{urls[index]}: {step.result['error']}")
        state = step.state
    return time.process_time() - started


async def cpu_per_page(
    pages: int, rounds: int, protocol: str = "HTTP/1.1", corpus: Path | None = None
) -> tuple[float, float]:
    """Median CPU seconds per page: (our step, httpx + resiliparse), from a server
    speaking ``protocol`` (HTTP/1.1 keeps connections alive, HTTP/1.0 closes them),
    on our own pages or on the first ``pages`` HTML files under ``corpus``."""
    settings = Settings.model_validate(
        {
            "secret_key": ["bench"],
            "scrape_allow_nets": ["127.0.0.1/32"],
            "scrape_min_delay": 0,
            "scrape_max_urls": pages,
            "scrape_max_bytes": 50_000_000,
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = str(corpus.resolve() if corpus else scratch)
        names = _real_pages(corpus, pages) if corpus else _write_corpus(Path(scratch), pages)
        pages = len(names)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.static_server", str(port), folder, protocol],
            cwd=Path(__file__).parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        job = ScrapeJob(settings)
        try:
            urls = [f"http://127.0.0.1:{port}/{quote(name)}" for name in names]
            await _wait_for(urls[0])
            ours, base = [], []
            for _ in range(rounds):
                base.append(await _baseline(urls) / pages)
                ours.append(await _ours(job, urls) / pages)
        finally:
            await job.aclose()
            server.terminate()
            server.wait(10)
    return statistics.median(ours), statistics.median(base)


async def _wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"the corpus server did not start: {url}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", type=int, nargs="?", default=200)
    parser.add_argument("--corpus", type=Path, help="a folder of real pages (its *.html files)")
    options = parser.parse_args()
    for server in ("HTTP/1.1", "HTTP/1.0"):
        ours, base = asyncio.run(cpu_per_page(options.pages, 3, server, options.corpus))
        print(
            f"{server} server: ours {ours * 1000:.2f} ms/page, "
            f"httpx + resiliparse {base * 1000:.2f} ms/page, ratio {ours / base:.2f}"
        )
