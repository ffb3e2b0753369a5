"""The registry on SQLite and PostgreSQL: add, conflicting ids, compare-and-set updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.camera_models import CameraRecord
from hub.camera_registry import (
    CameraExistsError,
    CameraRegistry,
    StaleRevisionError,
    StoredCamera,
)
from hub.contracts import GeoPoint, GroundCalibration
from hub.store import AlertStore

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def record(camera_id: str = "cam-1", **changes: object) -> CameraRecord:
    base = CameraRecord(
        id=camera_id, stream_url="rtsp://10.0.0.5/main", location=GeoPoint(lat=30.6, lon=104.0)
    )
    return base.model_copy(update=changes)


async def test_registry_lifecycle(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    registry = CameraRegistry(store.engine)
    try:
        added = await registry.add(record(), "admin", "sealed-token", T0)
        assert added.revision == 0 and added.created_at == T0
        with pytest.raises(CameraExistsError):
            await registry.add(record(), None, None, T0)
        await registry.add(record("cam-2", enabled=False), None, None, T0)
        assert [c.record.id for c in await registry.list()] == ["cam-1", "cam-2"]
        assert [c.record.id for c in await registry.list(enabled=True)] == ["cam-1"]

        later = T0 + timedelta(minutes=5)
        changed = await registry.replace(added, record(name="Gate"), "admin", None, later)
        assert changed.revision == 1
        fetched = await registry.get("cam-1")
        assert fetched is not None and fetched.record.name == "Gate"
        assert fetched.updated_at == later and fetched.created_at == T0
        assert fetched.password_sealed is None and fetched.public().has_password is False
        with pytest.raises(StaleRevisionError):  # `added` is revision 0: someone changed it
            await registry.replace(added, record(name="Lost update"), None, None, later)

        spec = fetched.spec()
        assert spec.url == "rtsp://10.0.0.5/main" and spec.username == "admin"
        assert await registry.remove("cam-1") and not await registry.remove("cam-1")
        assert await registry.get("cam-1") is None
    finally:
        await store.close()


async def test_the_calibration_is_stored_and_reaches_the_workers_spec(database_url: str) -> None:
    calibration = GroundCalibration(
        image=[(0, 0.5), (1, 0.5), (1, 1), (0, 1)], ground_m=[(0, 10), (20, 10), (20, 0), (0, 0)]
    )
    store = await AlertStore.open(database_url)
    registry = CameraRegistry(store.engine)
    try:
        await registry.add(record(ground_calibration=calibration), None, None, T0)
        fetched = await registry.get("cam-1")
        assert isinstance(fetched, StoredCamera)
        assert fetched.record.ground_calibration == calibration
        assert fetched.spec().ground_calibration == calibration
        assert fetched.public().ground_calibration == calibration
    finally:
        await store.close()
