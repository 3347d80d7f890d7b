"""One benchmark server: ``python -m bench.serve APP PORT [HTTP]`` (httptools unless told).

Raises the open-file limit first (uvicorn does not), and runs uvicorn on uvloop
and httptools with no concurrency limit and a large backlog, so 10,000 streams
measure the app and not the defaults. With ``BENCH_GC_REPORT`` set, a
``bench.probe.GcProbe`` times every collection and answers SIGUSR1 with a heap
report in that file: a loop signal handler, so nothing is added to the app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import uvicorn
import uvloop

from bench.load import raise_nofile_limit
from bench.probe import REPORT_ENV, GcProbe

GRACE_SECONDS = 30
"""Ten thousand streams whose clients just hung up take bare sse-starlette seconds to
end on a busy machine; cut short, each would log a traceback."""


async def _serve(server: uvicorn.Server) -> None:
    if report := os.environ.get(REPORT_ENV):
        probe = GcProbe(Path(report))
        probe.install()
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, probe.report)
    await server.serve()


def main(argv: list[str]) -> None:
    app, port, *http = argv
    raise_nofile_limit()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(port),
        loop="uvloop",
        http=http[0] if http else "httptools",
        backlog=8192,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(uvicorn.Server(config)))


if __name__ == "__main__":
    main(sys.argv[1:])
