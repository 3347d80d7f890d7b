"""A reverse proxy that forwards a response only once it is complete.

nginx's ``proxy_buffering`` alone does not hold back a slow stream (it passes
on what it reads), so to prove that a client falls back to the JSON steps
endpoint, the suite puts this in front: an event stream then sends nothing
until the job ends, just as a buffering corporate proxy or an old PaaS router
would.
"""

from __future__ import annotations

import httpx

from tests.threaded_http import QuietHandler, ThreadedHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}


class BufferingProxy:
    def __init__(self, upstream: str, timeout: float = 120) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.requests: list[str] = []
        proxy = self

        class Handler(QuietHandler):
            def _forward(self) -> None:
                proxy.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers.pop("Host", None)
                try:
                    with httpx.Client(timeout=proxy.timeout) as client:
                        answer = client.request(
                            self.command, proxy.upstream + self.path, content=body, headers=headers
                        )
                        payload = answer.content  # the whole body, however long it takes
                except httpx.HTTPError:
                    self.send_error(502)
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _forward

        self._http = ThreadedHTTPServer(Handler)
        self.url = self._http.url

    def __enter__(self) -> BufferingProxy:
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)
