"""A folder served on loopback as a real web server serves it: HTTP/1.1 with
connections kept alive and Nagle's algorithm off (nginx's ``tcp_nodelay``).

``python -m http.server --protocol HTTP/1.1`` keeps Nagle on: it sends a
page's head and body in two writes, and each page then waits out the
client's delayed ACK (40 ms here), which no real server does.
``python -m bench.static_server PORT FOLDER [HTTP/1.0]``; HTTP/1.0 closes
each connection after its page.
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class _Handler(SimpleHTTPRequestHandler):
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(port: int, folder: str, protocol: str = "HTTP/1.1") -> None:
    handler = functools.partial(_Handler, directory=folder)
    _Handler.protocol_version = protocol
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], *sys.argv[3:])
