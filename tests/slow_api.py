"""A slow JSON API on loopback, as the example kind's users call one: ``GET /<item>``
answers ``{"item", "length"}`` after ``delay`` seconds, and counts who asked for what."""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import unquote

from tests.threaded_http import QuietHandler, ThreadedHTTPServer


class SlowApi:
    def __init__(self, delay: float = 0.3) -> None:
        self.asked: Counter[str] = Counter()
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                item = unquote(self.path.lstrip("/"))
                api.asked[item] += 1
                time.sleep(delay)
                body = json.dumps({"item": item, "length": len(item)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._http = ThreadedHTTPServer(Handler)
        self.url = self._http.url

    def __enter__(self) -> SlowApi:
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)
