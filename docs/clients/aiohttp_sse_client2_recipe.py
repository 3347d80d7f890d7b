"""stepstream with aiohttp-sse-client2: ``pip install aiohttp-sse-client2``,
then ``python aiohttp_sse_client2_recipe.py URL``. Prints each step's data as
a line; exits 0 after ``done``, 1 if the server refuses the stream or the job
fails.

aiohttp-sse-client2 reconnects only after a stream that ended cleanly: a
connection that breaks (a replica killed) raises out of the loop. So this
keeps its own resume loop, with the newest id as Last-Event-ID.
"""

import asyncio
import sys

import aiohttp
from aiohttp_sse_client2 import client as sse_client

RETRY_SECONDS = 1
MAX_FAILURES = 30  # in a row, without an event in between


async def follow(url: str) -> int:
    last_id = ""
    failures = 0
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while failures < MAX_FAILURES:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                async with sse_client.EventSource(url, session=session, headers=headers) as source:
                    async for event in source:
                        failures = 0
                        last_id = event.last_event_id or last_id
                        if event.type == "step":
                            print(event.data, flush=True)
                        elif event.type == "done":
                            return 0  # stop here: the reconnect would get 204 and raise
                        elif event.type == "error":
                            print(f"job failed: {event.data}", file=sys.stderr)
                            return 1
            except (TimeoutError, aiohttp.ClientError):
                failures += 1  # the connection broke or was refused: resume
            except ConnectionError as refused:  # the library's error for a 4xx/5xx answer
                print(f"stream refused: {refused}", file=sys.stderr)
                return 1
            await asyncio.sleep(RETRY_SECONDS)
    print("gave up reconnecting", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(follow(sys.argv[1])))
