"""GET /api/alerts/{id}/clip.mp4: the evidence clip, served like the snapshot (token, grid scope,
confined to the evidence folder, 404 when there is none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.factories import make_alert
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE, alert
from tests.hub.test_login import add_user, signed_in

CLIP = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4  # stands for an MP4: served as is


async def test_clip_served_with_ranges_and_404_without_one(hub: Hub) -> None:
    (hub.settings.evidence_dir / "cam-1-clip.mp4").write_bytes(CLIP)
    with_clip = make_alert(clip_ref="cam-1-clip.mp4")
    without = make_alert("cam-2")
    missing_file = make_alert("cam-3", clip_ref="gone.mp4")
    for each in (with_clip, without, missing_file):
        await hub.publish(each)
    await hub.wait_stored(3)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        clip = await client.get(f"/api/alerts/{with_clip.id}/clip.mp4")
        assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
        assert clip.content == CLIP
        part = await client.get(f"/api/alerts/{with_clip.id}/clip.mp4",
                                headers={"Range": "bytes=4-11"})  # fmt: skip
        assert part.status_code == 206 and part.content == b"ftypisom"  # a <video> seeks so
        assert (await client.get(f"/api/alerts/{without.id}/clip.mp4")).status_code == 404
        assert (await client.get(f"/api/alerts/{missing_file.id}/clip.mp4")).status_code == 404
    async with httpx.AsyncClient(base_url=hub.base) as nobody:
        assert (await nobody.get(f"/api/alerts/{with_clip.id}/clip.mp4")).status_code == 401


async def test_clip_paths_cannot_escape_the_evidence_folder(hub: Hub, tmp_path: Path) -> None:
    for bad in ("../../etc/passwd.mp4", "clip.mp4/../../x.mp4", "clip.jpg"):
        with pytest.raises(ValueError, match="should match pattern"):
            make_alert(clip_ref=bad)
    secret = tmp_path / "outside" / "secret.mp4"
    secret.parent.mkdir()
    secret.write_bytes(b"secret-clip")
    (hub.settings.evidence_dir / "escape.mp4").symlink_to(secret)
    escaping = make_alert(clip_ref="escape.mp4")
    await hub.publish(escaping)
    await hub.wait_stored(1)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        response = await client.get(f"/api/alerts/{escaping.id}/clip.mp4")
        assert response.status_code == 404 and b"secret" not in response.content
        probe = await client.get("/api/alerts/..%2F..%2Fetc%2Fpasswd/clip.mp4")
        assert probe.status_code in (404, 422)


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def test_a_scoped_viewer_gets_only_its_cells_clips(grid_hub: Hub) -> None:
    hub = grid_hub
    for name in ("square-clip.mp4", "east-clip.mp4"):
        (hub.settings.evidence_dir / name).write_bytes(CLIP)
    square = alert("cam-square", SQUARE, people=23, clip_ref="square-clip.mp4")  # cell g-001
    east = alert("cam-east", EAST_CELL, people=23, clip_ref="east-clip.mp4")  # cell g-002
    await hub.publish(square)
    await hub.publish(east)
    await hub.wait_stored(2)
    await add_user(hub, "view-b", "viewer", grid_scope="g-002")
    async with signed_in(hub, "view-b") as viewer:
        assert (await viewer.get(f"/api/alerts/{east.id}/clip.mp4")).status_code == 200
        foreign = await viewer.get(f"/api/alerts/{square.id}/clip.mp4")
        assert foreign.status_code == 404 and foreign.content != CLIP
