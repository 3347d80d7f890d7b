"""/metrics and /healthz, read by a real client from a real server."""

from __future__ import annotations

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import Server
from tests.sse import collect

pytestmark = pytest.mark.anyio


def samples(text: str) -> dict[str, float]:
    return {
        sample.name + (str(sorted(sample.labels.items())) if sample.labels else ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_streams_events_resumes_and_steps(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        url = "/api/sleep/events?steps=3&wait=0.1"
        _, first = await collect(client, url, stop_after_steps=1)
        await collect(client, url, last_event_id=first[-1].id)
        with anyio.fail_after(5):
            while True:
                response = await client.get("/metrics")
                values = samples(response.text)
                if values["stepstream_open_streams"] == 0:
                    break
                await anyio.sleep(0.02)
    assert response.headers["content-type"].startswith("text/plain")
    assert values["stepstream_resumes_total"] == 1
    assert values["stepstream_events_total[('event', 'step')]"] >= 3
    assert values["stepstream_events_total[('event', 'done')]"] == 1
    assert values["stepstream_step_duration_seconds_count[('kind', 'sleep')]"] >= 3
    assert "stepstream_heartbeats_total" in values
