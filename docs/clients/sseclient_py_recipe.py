"""stepstream with sseclient-py and requests: ``pip install sseclient-py
requests``, then ``python sseclient_py_recipe.py URL``. Prints each step's
data as a line; exits 0 after ``done``, 1 if the server refuses the stream or
the job fails.

sseclient-py only parses a body: it neither checks the status (a 400's JSON
would be parsed as an empty stream) nor reconnects. Both are done here.
"""

import sys
import time

import requests
import sseclient

RETRY_SECONDS = 1
MAX_FAILURES = 30  # in a row, without an event in between


def follow(url: str) -> int:
    last_id = ""
    failures = 0
    with requests.Session() as session:
        while failures < MAX_FAILURES:
            headers = {"Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                with session.get(url, headers=headers, stream=True, timeout=(10, 60)) as response:
                    if response.status_code == 204:
                        return 0  # the job was already finished
                    if response.status_code != 200:
                        print(
                            f"stream refused: {response.status_code} {response.text}",
                            file=sys.stderr,
                        )
                        return 1
                    for event in sseclient.SSEClient(response).events():
                        failures = 0
                        last_id = event.id or last_id
                        if event.event == "step":
                            print(event.data, flush=True)
                        elif event.event == "done":
                            return 0
                        elif event.event == "error":
                            print(f"job failed: {event.data}", file=sys.stderr)
                            return 1
            except requests.RequestException:
                failures += 1  # the connection broke or was refused: resume
            time.sleep(RETRY_SECONDS)
    print("gave up reconnecting", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(follow(sys.argv[1]))
