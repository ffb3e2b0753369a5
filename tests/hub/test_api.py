"""The hub's HTTP API against a running server: alerts from the bus, filters, access, snapshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from hub.contracts import STREAM_ALERTS, Level
from hub.settings import HubSettings
from tests.factories import make_alert
from tests.hub.conftest import TOKEN, Hub
from xueliang.bus import dead_letter_stream


async def test_alert_published_on_the_bus_is_stored_and_listed(hub: Hub) -> None:
    alert = make_alert()
    await hub.publish(alert)
    await hub.wait_stored(1)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        listed = (await client.get("/api/alerts")).json()
        assert [item["id"] for item in listed] == [alert.id]
        one = await client.get(f"/api/alerts/{alert.id}")
        assert one.status_code == 200 and one.json()["people_count"] == 9
        assert one.json()["location"] == {"lat": 30.657, "lon": 104.066}


async def test_filters_and_validation(hub: Hub) -> None:
    await hub.publish(make_alert("cam-1", started_s=0))
    await hub.publish(make_alert("cam-2", started_s=10, level=Level.RED))
    await hub.wait_stored(2)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        red = (await client.get("/api/alerts", params={"level": "red"})).json()
        assert [item["camera_id"] for item in red] == ["cam-2"]
        assert len((await client.get("/api/alerts", params={"camera_id": "cam-1"})).json()) == 1
        for bad in ({"limit": 0}, {"limit": 501}, {"level": "purple"}, {"since": "yesterday"},
                    {"since": "2026-01-01T00:00:00"}):
            response = await client.get("/api/alerts", params=bad)
            assert response.status_code == 422, bad
        assert (await client.get("/api/alerts/nope")).status_code == 404


async def test_every_api_route_checks_the_token(hub: Hub) -> None:
    alert = make_alert()
    await hub.publish(alert)
    await hub.wait_stored(1)
    paths = ["/api/alerts", f"/api/alerts/{alert.id}", f"/api/alerts/{alert.id}/snapshot.jpg"]
    async with httpx.AsyncClient(base_url=hub.base) as client:
        for path in paths:
            assert (await client.get(path)).status_code == 401, path
            wrong = await client.get(path, headers={"Authorization": "Bearer wrong"})
            assert wrong.status_code == 401, path
        assert (await client.get("/health")).status_code == 200  # public
        assert (await client.get("/")).status_code == 200  # the page itself holds no data


async def test_session_cookie_from_the_token(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        refused = await client.post("/api/session", json={"token": "wrong"})
        assert refused.status_code == 401
        opened = await client.post("/api/session", json={"token": TOKEN})
        assert opened.status_code == 204
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/api/alerts")).status_code == 200


async def test_snapshot_served_and_paths_cannot_escape(hub: Hub) -> None:
    (hub.settings.evidence_dir / "cam-1-shot.jpg").write_bytes(b"\xff\xd8fake-jpeg\xff\xd9")
    with_snapshot = make_alert(snapshot_ref="cam-1-shot.jpg")
    without = make_alert("cam-2")
    missing_file = make_alert("cam-3", snapshot_ref="gone.jpg")
    for alert in (with_snapshot, without, missing_file):
        await hub.publish(alert)
    await hub.wait_stored(3)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        shot = await client.get(f"/api/alerts/{with_snapshot.id}/snapshot.jpg")
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
        assert shot.content.startswith(b"\xff\xd8")
        assert (await client.get(f"/api/alerts/{without.id}/snapshot.jpg")).status_code == 404
        assert (await client.get(f"/api/alerts/{missing_file.id}/snapshot.jpg")).status_code == 404
    with pytest.raises(ValueError, match="should match pattern"):
        make_alert(snapshot_ref="../../etc/passwd.jpg")


async def test_malformed_message_is_dead_lettered_and_ingest_goes_on(hub: Hub) -> None:
    await hub.publish(b'{"not": "an alert"}')
    await hub.publish(make_alert())
    await hub.wait_stored(1)
    seen = []

    async def collect(data: bytes) -> None:
        seen.append(data)
        stop.set()

    stop = asyncio.Event()
    await asyncio.wait_for(
        hub.bus.consume(dead_letter_stream(STREAM_ALERTS), "inspect", "t", collect, stop=stop), 5
    )
    assert seen == [b'{"not": "an alert"}']


def test_refuses_a_public_address_without_a_token(tmp_path: object) -> None:
    from hub.app import InsecureBindError, create_app
    from xueliang.bus import InProcessBus

    settings = HubSettings(host="0.0.0.0", api_token="")
    with pytest.raises(InsecureBindError, match="XUELIANG_API_TOKEN"):
        create_app(settings, InProcessBus(), None)  # type: ignore[arg-type]


async def test_camera_health_reports_are_served_latest_first_wins(hub: Hub) -> None:
    from datetime import UTC, datetime, timedelta

    from hub.contracts import STREAM_CAMERA_HEALTH, CameraHealth, CameraState

    now = datetime.now(UTC)

    def report(state: CameraState, age_s: float) -> bytes:
        return CameraHealth(
            camera_id="cam-9", state=state, input_fps=25.0, reconnects=1, dropped_frames=0,
            reported_at=now - timedelta(seconds=age_s),
        ).model_dump_json().encode()  # fmt: skip

    await hub.bus.publish(STREAM_CAMERA_HEALTH, report(CameraState.ONLINE, 0))
    await hub.bus.publish(STREAM_CAMERA_HEALTH, report(CameraState.OFFLINE, 30))  # late, older
    await hub.bus.publish(STREAM_CAMERA_HEALTH, b"garbage")
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        for _ in range(50):
            listed = (await client.get("/api/cameras/health")).json()
            if listed:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the older report and the garbage are handled too
        listed = (await client.get("/api/cameras/health")).json()
        assert [(item["camera_id"], item["state"]) for item in listed] == [("cam-9", "online")]
    async with httpx.AsyncClient(base_url=hub.base) as anonymous:
        assert (await anonymous.get("/api/cameras/health")).status_code == 401


async def test_health_reports_the_store_the_bus_and_ingest(hub: Hub) -> None:
    await hub.publish(make_alert())
    await hub.publish(make_alert())  # a redelivery: counted as a duplicate
    await hub.publish(b"not json")
    await hub.wait_stored(1)
    async with httpx.AsyncClient(base_url=hub.base) as client:
        for _ in range(50):
            health = (await client.get("/health")).json()
            if health["ingest"]["malformed"] == 1:
                break
            await asyncio.sleep(0.02)
    assert health["status"] == "ok" and health["database"] is True
    assert health["bus"] == "inprocess" and health["alerts_stored"] == 1
    assert health["ingest"] == {"running": True, "stored": 1, "duplicates": 1, "malformed": 1}


async def test_a_snapshot_symlinked_out_of_the_evidence_folder_is_refused(
    hub: Hub, tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(b"\xff\xd8secret")
    (hub.settings.evidence_dir / "escape.jpg").symlink_to(secret)
    alert = make_alert(snapshot_ref="escape.jpg")
    await hub.publish(alert)
    await hub.wait_stored(1)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        response = await client.get(f"/api/alerts/{alert.id}/snapshot.jpg")
        assert response.status_code == 404 and b"secret" not in response.content
        for probe in ("/api/alerts/..%2F..%2Fetc%2Fpasswd/snapshot.jpg", f"/api/alerts/{'x' * 65}"):
            assert (await client.get(probe)).status_code in (404, 422), probe
