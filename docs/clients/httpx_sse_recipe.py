"""stepstream with httpx-sse: ``pip install httpx httpx-sse``, then
``python httpx_sse_recipe.py URL``. Prints each step's data as a line; exits 0
after ``done``, 1 if the server refuses the stream or the job fails.

httpx-sse's README recipe does not survive a long job: httpx's default 5 s
read timeout is shorter than the 15 s heartbeat, each heartbeat comes out as
an empty message, and nothing reconnects. Here: a 60 s read timeout, empty
messages skipped, and a resume loop on the errors a broken or refused
connection raises (not on every TransportError: a bad URL or a TLS failure
will not fix itself).
"""

import sys
import time

import httpx
from httpx_sse import connect_sse

RETRY_SECONDS = 1
MAX_FAILURES = 30  # in a row, without an event in between
RESUMABLE = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError, httpx.ReadTimeout)


def follow(url: str) -> int:
    last_id = ""
    failures = 0
    with httpx.Client(timeout=httpx.Timeout(10, read=60)) as client:
        while failures < MAX_FAILURES:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with connect_sse(client, "GET", url, headers=headers) as source:
                    if source.response.status_code == 204:
                        return 0  # the job was already finished
                    if source.response.status_code != 200:
                        body = source.response.read().decode()
                        print(
                            f"stream refused: {source.response.status_code} {body}", file=sys.stderr
                        )
                        return 1
                    for event in source.iter_sse():
                        last_id = event.id or last_id
                        if not event.data:
                            continue  # a heartbeat comment, or an id-only checkpoint
                        failures = 0
                        if event.event == "step":
                            print(event.data, flush=True)
                        elif event.event == "done":
                            return 0
                        elif event.event == "error":
                            print(f"job failed: {event.data}", file=sys.stderr)
                            return 1
            except RESUMABLE:
                failures += 1  # the connection broke or was refused: resume
            time.sleep(RETRY_SECONDS)
    print("gave up reconnecting", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(follow(sys.argv[1]))
