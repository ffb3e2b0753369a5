"""A camera over real RTSP (GStreamer's server): frames flow, the server dies and comes back,
the worker reconnects by itself and reports the camera's health on the way; the outage raises
one device-fault alert, which ends when the camera is back."""

from __future__ import annotations

import asyncio
import json
import time

from cameras.backoff import Backoff
from cameras.source import SourceOptions
from hub.contracts import (
    Alert,
    AlertKind,
    AlertStatus,
    CameraHealth,
    CameraState,
    GeoPoint,
    Level,
    alert_id,
)
from tests.fakes import RecordingDetector
from tests.rtsp_server import ARTIFACTS, RtspServer, record_figures, wait_for
from xueliang.config import default_camera
from xueliang.inference import InferenceThread, batching
from xueliang.supervise import CameraWatch

CANARY = "c4n4ry%40pw"  # a password (percent-encoded "@") that must surface nowhere


async def test_camera_survives_its_rtsp_server_dying_for_ten_seconds(
    rtsp_server: RtspServer,
) -> None:
    url = rtsp_server.url.replace("rtsp://", f"rtsp://admin:{CANARY}@")
    camera = default_camera(url).model_copy(
        update={"id": "rtsp-cam", "location": GeoPoint(lat=31.0, lon=121.0)}
    )
    reports: list[CameraHealth] = []
    alerts_seen: list[tuple[float, Alert]] = []

    async def alerts(alert: Alert) -> None:
        alerts_seen.append((time.monotonic(), alert))

    async def health(report: CameraHealth) -> None:
        reports.append(report)

    detector = RecordingDetector()
    inference = InferenceThread(detector)
    stop = asyncio.Event()
    async with batching(inference, cameras=1) as batched:
        watch = CameraWatch(
            camera, batched, alerts, health,
            SourceOptions(realtime=False), backoff=Backoff(), health_interval_s=1.0,
            offline_alarm_s=3.0,
        )  # fmt: skip
        task = asyncio.create_task(watch.run(stop))
        await wait_for(lambda: reports and reports[-1].state is CameraState.ONLINE, 20)
        assert sum(detector.calls) >= 1
        await asyncio.sleep(2.5)  # past the first seconds' burst of buffered packets
        assert 6 <= reports[-1].input_fps <= 14  # the clip is 10 frames/s

        rtsp_server.kill()
        killed_at = time.monotonic()
        await wait_for(lambda: reports[-1].state is CameraState.OFFLINE, 15)
        await asyncio.sleep(max(0.0, killed_at + 10 - time.monotonic()))  # away 10 s in all
        frames_during_outage = sum(detector.calls)
        raised_during_outage = list(alerts_seen)
        rtsp_server.start()
        back_s = await wait_for(lambda: sum(detector.calls) > frames_during_outage, 15)
        await wait_for(lambda: len(alerts_seen) >= 2, 10)  # the device fault clears
        assert not task.done()  # the same watch all along: no worker restart
        stop.set()
        await asyncio.wait_for(task, 10)
    inference.close()
    assert len(raised_during_outage) == 1
    raised_at, raised = raised_during_outage[0]
    assert raised.kind is AlertKind.DEVICE_FAULT and raised.level is Level.BLUE
    assert raised.status is AlertStatus.ACTIVE and raised.revision == 0
    assert raised.id == alert_id("rtsp-cam", "device", "offline", raised.started_at)
    assert raised.location == camera.location and raised.grid_cell == camera.grid_cell
    assert [a.id for _, a in alerts_seen] == [raised.id, raised.id]  # one alert, then its end
    cleared = alerts_seen[1][1]
    assert cleared.revision == 1 and cleared.status is AlertStatus.ENDED
    assert cleared.ended_at is not None and cleared.ended_at > raised.started_at
    offline_alert_s = raised_at - killed_at
    assert 3.0 < offline_alert_s < 10.0  # offline after the stall (5 s), alarm 3 s later
    # The alert starts when the health first said offline, and comes the threshold later.
    assert any(
        r.state is CameraState.OFFLINE
        and abs((r.reported_at - raised.started_at).total_seconds()) < 1.0
        for r in reports
    )
    offline_to_alert_s = (raised.updated_at - raised.started_at).total_seconds()
    assert 3.0 < offline_to_alert_s < 4.0  # offline_alarm_s, polled every 0.5 s
    assert back_s < 10  # frames flow again within 10 s of the server's return
    assert watch.opened >= 2 and watch.tracker.reconnects >= 1
    errors = [r.last_error for r in reports if r.last_error]
    assert errors, "the outage left no error on the camera's health"
    for report in reports:
        text = report.model_dump_json()
        assert "c4n4ry" not in text and CANARY not in text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "rtsp-recovery.json").write_text(
        json.dumps({"frames_again_after_server_return_s": round(back_s, 2)}) + "\n"
    )
    record_figures(
        server_return_to_frames_s=back_s,
        server_kill_to_device_fault_alert_s=offline_alert_s,
        offline_to_device_fault_alert_s=offline_to_alert_s,  # offline_alarm_s is 3 s here
    )
