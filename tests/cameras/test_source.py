"""FrameSource over real footage: PyAV decode in a thread, delivery modes, keyframes, loops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cameras.pyav import FrameInfo, VideoError
from cameras.source import FrameSource, SourceOptions

EXCERPT = Path(__file__).resolve().parents[1] / "data" / "vtest-20s.mp4"
FAST = SourceOptions(realtime=False, lossless=True)


async def collect(source: FrameSource, limit: int | None = None) -> list[tuple[float, bool]]:
    seen = []
    async for frame in source.frames():
        assert frame.image.shape == (576, 768, 3)
        seen.append((frame.pts_s, frame.is_keyframe))
        if limit is not None and len(seen) >= limit:
            break
    return seen


async def test_lossless_delivers_every_frame_in_order() -> None:
    frames = await collect(FrameSource(str(EXCERPT), FAST))
    assert len(frames) == 200
    times = [pts for pts, _ in frames]
    assert times == sorted(times)
    assert times[1] - times[0] == pytest.approx(0.1)


async def test_keep_predicate_skips_frames_before_pixel_conversion() -> None:
    source = FrameSource(str(EXCERPT), FAST, keep=lambda info: info.pts_s % 5 < 0.05)
    assert [round(pts, 1) for pts, _ in await collect(source)] == [0.0, 5.0, 10.0, 15.0]


async def test_keyframes_only_decodes_one_frame_per_gop() -> None:
    options = SourceOptions(realtime=False, lossless=True, keyframes_only=True)
    frames = await collect(FrameSource(str(EXCERPT), options))
    assert len(frames) == 20  # 1 s GOP over 20 s
    assert all(key for _, key in frames)


async def test_loop_forever_keeps_time_increasing() -> None:
    options = SourceOptions(realtime=False, lossless=True, loop_forever=True)

    def every_second(info: FrameInfo) -> bool:
        return abs(info.pts_s - round(info.pts_s)) < 0.05

    frames = await collect(FrameSource(str(EXCERPT), options, keep=every_second), limit=30)
    times = [round(pts, 1) for pts, _ in frames]
    assert times[:3] == [0.0, 1.0, 2.0]
    assert times[20:23] == [20.0, 21.0, 22.0]  # the second pass continues the clock


async def test_realtime_paces_by_timestamps() -> None:
    options = SourceOptions(realtime=True, lossless=True)
    started = time.monotonic()
    frames = await collect(FrameSource(str(EXCERPT), options), limit=11)
    elapsed = time.monotonic() - started
    assert frames[-1][0] == pytest.approx(1.0)
    assert elapsed >= 0.9  # 1 s of footage cannot arrive much faster than 1 s


async def test_live_mode_drops_the_oldest_frames_and_counts_them() -> None:
    source = FrameSource(str(EXCERPT), SourceOptions(realtime=False, queue_size=2))
    seen = []
    async for frame in source.frames():
        seen.append(frame.pts_s)
        await asyncio.sleep(0.05)  # a slow consumer
    assert source.dropped > 0
    assert len(seen) + source.dropped == 200
    assert seen[-1] == pytest.approx(19.9)  # the newest frame always survives


async def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="video not found"):
        await collect(FrameSource(str(tmp_path / "none.mp4"), FAST))


async def test_credentials_are_redacted_from_errors() -> None:
    url = "rtsp://admin:s3cr%40t@127.0.0.1:9/stream"  # nothing listens on the discard port
    with pytest.raises(VideoError) as caught:
        await collect(FrameSource(url, FAST))
    assert "s3cr" not in str(caught.value) and "***@127.0.0.1" in str(caught.value)
