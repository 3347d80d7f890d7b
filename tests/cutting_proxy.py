"""A reverse proxy that cuts every event stream right after its first event.

What a client sees behind a flaky middlebox: ``start`` arrives, then the
connection drops, again and again, so no step ever does. Other answers pass
whole. Every response ends by closing the connection.
"""

from __future__ import annotations

import httpx

from tests.buffering_proxy import HOP_BY_HOP
from tests.threaded_http import QuietHandler, ThreadedHTTPServer


class CuttingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.cuts = 0
        proxy = self

        class Handler(QuietHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers.pop("Host", None)
                url = proxy.upstream + self.path
                self.close_connection = True
                with httpx.stream(self.command, url, content=body, headers=headers) as answer:
                    self.send_response(answer.status_code)
                    for key, value in answer.headers.items():
                        if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                            self.send_header(key, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if answer.headers.get("content-type", "").startswith("text/event-stream"):
                        self._first_event(answer)
                    else:
                        self.wfile.write(answer.read())

            def _first_event(self, answer: httpx.Response) -> None:
                sent = b""
                for chunk in answer.iter_bytes():
                    sent += chunk
                    if b"\n\n" in sent:
                        self.wfile.write(sent[: sent.index(b"\n\n") + 2])
                        proxy.cuts += 1
                        return

            do_GET = do_POST = _forward

        self._http = ThreadedHTTPServer(Handler)
        self.url = self._http.url

    def __enter__(self) -> CuttingProxy:
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)
