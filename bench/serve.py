"""One benchmark server: ``python -m bench.serve APP PORT``.

Raises the open-file limit first (uvicorn does not), and runs uvicorn with no
concurrency limit and a large backlog, so 10,000 streams measure the app and
not the defaults.
"""

from __future__ import annotations

import sys

import uvicorn

from bench.load import raise_nofile_limit


def main(argv: list[str]) -> None:
    app, port = argv
    raise_nofile_limit()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(port),
        backlog=8192,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
