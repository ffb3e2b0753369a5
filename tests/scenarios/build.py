"""Scenario clips built from the committed footage (`tests/data/vtest-20s.mp4`).

Crowds: copies of one walker gather in a group on the lawn, one more each second. The lawn
walk is a plain cut of the full `vtest.avi` (`make footage`): real people on the lawn.

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


def read_frames(path: Path = SOURCE, stop: int | None = None) -> list[np.ndarray]:
    """The frames before index `stop` (all without it)."""
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while stop is None or len(frames) < stop:
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


# Where pasted people stand in a group on the lawn (feet, pixels): two rows, no overlaps, clear
# of the path (its lower edge is above y 380 here), of the tripod and of the large cloth.
GROUP_SPOTS = [(200, 440), (270, 440), (340, 440), (410, 440), (235, 555), (305, 555), (375, 555)]


def group_frames(
    frames: list[np.ndarray], walker: np.ndarray, people: int, first_s: float, every_s: float
) -> list[np.ndarray]:
    """From `first_s`, one more cut-out (the walker, or its mirror image) joins the group every
    `every_s` until `people` stand there; they stay until the end."""
    x1, y1, x2, y2 = WALKER_BOX
    standing = walker[y1:y2, x1:x2].copy()
    patches = [standing, cv2.flip(standing, 1)]
    first, every = round(first_s * FPS), round(every_s * FPS)
    out = []
    for index, image in enumerate(frames):
        present = 0 if index < first else min(people, (index - first) // every + 1)
        for number in range(present):
            image = paste(image, patches[number % 2], GROUP_SPOTS[number])
        out.append(image)
    return out


def crowd_clip(
    path: Path, *, people: int = 7, first_s: float = 2.0, every_s: float = 1.0,
    seconds: float = 20.0,
) -> Path:
    """A group gathers on the lawn: `people` pasted walkers, one more every `every_s`."""
    if not 1 <= people <= len(GROUP_SPOTS):
        raise ValueError(f"people must be 1..{len(GROUP_SPOTS)}")
    source = read_frames()
    frames = group_frames(source[: round(seconds * FPS)], source[WALKER_FRAME], people,
                          first_s, every_s)
    return write_h264(frames, path)


def small_group_clip(path: Path) -> Path:
    """The same lawn with three people only: below every crowd threshold in crowd.rules.yaml."""
    return crowd_clip(path, people=3)


FULL = ROOT / ".cache" / "footage" / "vtest.avi"  # `make footage`; the tests assert it is there
LAWN_WALK_S = (50.0, 71.0)


def lawn_walk_clip(path: Path) -> Path:
    """vtest.avi from 50 s to 71 s as it is: a couple walks down onto the lawn at about 52 s;
    the man goes back up at about 58 s, the woman walks up across the lawn at about 68 s."""
    if not FULL.is_file():
        raise FileNotFoundError(f"{FULL} missing: `make footage` fetches it")
    start, end = (round(seconds * FPS) for seconds in LAWN_WALK_S)
    frames = read_frames(FULL, stop=end)[start:]
    return write_h264(frames, path)
