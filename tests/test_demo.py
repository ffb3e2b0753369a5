"""`xueliang demo` end to end: footage as a live camera, the first crowd alert on the page."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import websockets

from hub.contracts import Alert
from tests.footage.replay import ROOT

pytestmark = pytest.mark.footage

EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "demo-test-token-4f9a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for_health(base: str, deadline: float) -> None:
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the demo's hub never answered /health")


async def first_alert(port: int, started: float) -> tuple[Alert, datetime, float]:
    base = f"http://127.0.0.1:{port}"
    await wait_for_health(base, started + 60)
    headers = {"Authorization": f"Bearer {TOKEN}", "Origin": base}
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws/alerts", additional_headers=headers
    ) as socket_:
        message = json.loads(await asyncio.wait_for(socket_.recv(), timeout=60))
        received_at = datetime.now(UTC)
        seen_after_s = time.monotonic() - started
    assert message["type"] == "batch"
    return Alert.model_validate(message["alerts"][0]), received_at, seen_after_s


def test_demo_shows_the_first_crowd_alert_on_the_page_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "xueliang.cli", "demo", "--once", "--port", str(port),
         "--data-dir", str(tmp_path), "--video", str(EXCERPT)],
        cwd=ROOT, env={**os.environ, "XUELIANG_API_TOKEN": TOKEN},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        alert, received_at, seen_after_s = asyncio.run(first_alert(port, started))
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/alerts/{alert.id}/snapshot.jpg",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        scraped = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        anonymous_scrape = httpx.get(f"http://127.0.0.1:{port}/metrics")
        output, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=30)
    assert alert.kind == "crowd_gathering" and alert.revision == 0
    assert seen_after_s < 60
    # From the frame on which the rule's condition was confirmed to the alert on the page.
    condition_to_page_s = (received_at - alert.updated_at).total_seconds()
    assert 0 <= condition_to_page_s < 5
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert scraped.status_code == 200 and anonymous_scrape.status_code == 401
    assert 'xl_camera_frames_sampled_total{camera="demo-plaza"}' in scraped.text
    assert demo.returncode == 0, output
    assert "operator page: http://127.0.0.1" in output and "ALERT" in output
    # The alert opened an incident in the demo grid, with a grid worker of its cell recommended.
    assert "queue -> pending_review" in output
    assert "best responder r-" in output and "in grid cell g-001" in output
    assert TOKEN not in output.split("operator page:")[0]  # the token is printed once, in the URL
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {
        "first_alert_on_page_after_start_s": round(seen_after_s, 2),
        "condition_to_page_s": round(condition_to_page_s, 3),
    }
    (ARTIFACTS / "demo-latency.json").write_text(json.dumps(figures) + "\n", encoding="utf-8")
