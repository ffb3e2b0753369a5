"""Stream benchmark, CPU part: what decoding and sampling one street camera costs.

    .venv/bin/python bench/streams.py [--seconds 20] [--gops 1,2] [--record FILE]

Makes 1080p25 H.264 clips as integrators configure street cameras (about 4 Mb/s, main profile,
no B-frames, a 1 s and a 2 s GOP; sensor-like noise so the bitrate is real) with ffmpeg, then runs
each through the worker's own source (`FrameSource`, decode thread, `FrameSampler` at one frame a
second, BGR conversion of kept frames) in three modes: every frame decoded, keyframes skipped by
the decoder (`skip_frame`), keyframes filtered before the decoder (our default). Prints the CPU
cost in cores per camera (CPU seconds per second of video); the last line is one JSON object.
The many-cameras-with-the-model part (largest N at p99 < 1 s) is still to come.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import emit, stamp  # noqa: E402
from cameras.pyav import FrameInfo  # noqa: E402
from cameras.source import FrameSource, SourceOptions  # noqa: E402
from detection.sampling import FrameSampler  # noqa: E402

CLIPS = ROOT / "bench" / "results" / "tmp"


def make_clip(gop_s: int, seconds: int) -> Path:
    path = CLIPS / f"street-1080p25-4mbps-gop{gop_s}s-{seconds}s.mp4"
    if path.is_file():
        return path
    CLIPS.mkdir(parents=True, exist_ok=True)
    frames = 25 * gop_s
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-vf", "noise=alls=12:allf=t",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
         "-bf", "0", "-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0",
         "-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def cost(clip: Path, keyframes_only: bool, keyframe_filter: str) -> tuple[float, int]:
    """(CPU seconds, frames kept) to run the clip through source and sampler, no pacing."""
    sampler = FrameSampler(1.0, keyframes_only=keyframes_only)

    def keep(info: FrameInfo) -> bool:
        return sampler.keep(info.pts_s, info.is_keyframe)

    options = SourceOptions(
        realtime=False,
        lossless=True,
        keyframes_only=keyframes_only,
        keyframe_filter=keyframe_filter,  # type: ignore[arg-type]
    )
    source = FrameSource(str(clip), options, keep)
    started = time.process_time()
    kept = 0
    async for _frame in source.frames():
        kept += 1
    return time.process_time() - started, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--gops", default="1,2", help="GOP lengths in seconds")
    parser.add_argument("--record", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()
    modes = {
        "all_frames": (False, "packet"),
        "keyframes_decoder_skip": (True, "decoder"),
        "keyframes_packet_filter": (True, "packet"),
    }
    figures: dict[str, dict[str, float]] = {}
    for gop_s in (int(g) for g in args.gops.split(",")):
        clip = make_clip(gop_s, args.seconds)
        bitrate = 8 * clip.stat().st_size / args.seconds / 1e6
        row: dict[str, float] = {"mbps": round(bitrate, 2)}
        for mode, (keyframes_only, keyframe_filter) in modes.items():
            cpu_s, kept = asyncio.run(cost(clip, keyframes_only, keyframe_filter))
            row[f"{mode}_core_per_camera"] = round(cpu_s / args.seconds, 4)
            row[f"{mode}_ms_per_kept_frame"] = round(1000 * cpu_s / max(kept, 1), 1)
            print(f"gop {gop_s} s {mode:26s} {cpu_s / args.seconds:.4f} core/camera, "
                  f"{kept} frames kept", file=sys.stderr)  # fmt: skip
        figures[f"gop_{gop_s}s"] = row
    result = {
        "bench": "streams-decode",
        **stamp(),
        "clip": "1080p25 H.264 main, no B-frames, ~4 Mb/s, testsrc2 + temporal noise",
        "sample_interval_s": 1.0,
        "target_core_per_camera_keyframe_mode": 0.02,
        **figures,
    }
    emit(result, args.record)


if __name__ == "__main__":
    main()
