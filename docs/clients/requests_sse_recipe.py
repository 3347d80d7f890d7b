"""stepstream with requests-sse: ``pip install requests-sse``, then
``python requests_sse_recipe.py URL``. Prints each step's data as a line;
exits 0 after ``done``, 1 if the server refuses the stream or the job fails.

requests-sse reconnects by itself (sending Last-Event-ID), doubling its
wait each time. It raises on any answer but 200, the 204 a stream answers
once it is finished included: stop at ``done``.
"""

import sys
from datetime import timedelta

import requests
from requests_sse import EventSource, InvalidStatusCodeError


def follow(url: str) -> int:
    # timeout=(connect, read): a read timeout well above the 15 s heartbeat,
    # so that only a connection that is really dead times out.
    source = EventSource(
        url, timeout=(10, 60), reconnection_time=timedelta(seconds=0.5), max_connect_retry=8
    )
    try:
        with source:
            for event in source:
                if event.type == "step":
                    print(event.data, flush=True)
                elif event.type == "done":
                    return 0  # do not read on: the reconnect would get 204 and raise
                elif event.type == "error":
                    print(f"job failed: {event.data}", file=sys.stderr)
                    return 1
    except InvalidStatusCodeError as refused:
        print(f"stream refused: {refused.status_code} {refused.response.text}", file=sys.stderr)
    except requests.RequestException as error:
        print(f"gave up reconnecting: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(follow(sys.argv[1]))
