"""Scenario clips built from the committed footage (`tests/data/vtest-20s.mp4`).

A fall: a walker cut out of one frame is pasted on the lawn, standing for `stand_s`, then
lying (the same cut-out turned a quarter) until the end; the rest of the scene plays on
behind. The flicker variant shows the lying cut-out on single, isolated frames only, as a
detector that mislabels a walker for one frame would. Clips are H.264 at the footage's 10 fps,
written with Debian's ffmpeg; nothing is downloaded.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "data" / "vtest-20s.mp4"
FPS = 10
# A walker on the path in frame 190 (19 s): x1, y1, x2, y2 in pixels of the 768x576 footage.
WALKER_FRAME, WALKER_BOX = 190, (542, 236, 605, 342)
# Where the pasted person stands on the lawn: feet at (x, y) pixels.
SPOT = (330, 430)

Pose = Callable[[int], str | None]  # frame index -> "stand", "lie" or None (not there)


def read_frames(path: Path = SOURCE) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    if not frames:
        raise RuntimeError(f"no frames read from {path}")
    return frames


def paste(image: np.ndarray, patch: np.ndarray, feet: tuple[int, int]) -> np.ndarray:
    """`patch` with its bottom centre at `feet`."""
    out = image.copy()
    height, width = patch.shape[:2]
    x1, y1 = feet[0] - width // 2, feet[1] - height
    out[y1 : y1 + height, x1 : x1 + width] = patch
    return out


def fall_frames(frames: list[np.ndarray], pose: Pose, walker: np.ndarray) -> list[np.ndarray]:
    """`walker`: the frame the cut-out comes from."""
    x1, y1, x2, y2 = WALKER_BOX
    standing = walker[y1:y2, x1:x2].copy()
    lying = cv2.rotate(standing, cv2.ROTATE_90_CLOCKWISE)
    patches = {"stand": standing, "lie": lying}
    out = []
    for index, image in enumerate(frames):
        chosen = pose(index)
        out.append(image if chosen is None else paste(image, patches[chosen], SPOT))
    return out


def write_h264(frames: list[np.ndarray], path: Path) -> Path:
    height, width = frames[0].shape[:2]
    command = [
        "ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{width}x{height}", "-r", str(FPS), "-i", "-", "-c:v", "libx264",
        "-preset", "veryfast", "-crf", "23", "-g", str(FPS), "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    data = b"".join(frame.tobytes() for frame in frames)
    subprocess.run(command, input=data, check=True, timeout=120)
    return path


def fall_clip(path: Path, *, stand_s: float = 4.0, seconds: float = 13.0) -> Path:
    """Stands for `stand_s`, then lies until the end."""
    source = read_frames()
    stand_frames = round(stand_s * FPS)
    frames = fall_frames(source[: round(seconds * FPS)],
                         lambda i: "stand" if i < stand_frames else "lie", source[WALKER_FRAME])
    return write_h264(frames, path)


def flicker_clip(path: Path, *, every: int = 7, seconds: float = 13.0) -> Path:
    """Walks (stands) throughout, shown lying on one isolated frame in every `every`."""
    source = read_frames()
    frames = fall_frames(source[: round(seconds * FPS)],
                         lambda i: "lie" if i % every == every - 1 else "stand",
                         source[WALKER_FRAME])
    return write_h264(frames, path)
