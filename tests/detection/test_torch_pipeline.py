"""The device-side detector path (`TorchDetector`), run on CPU: letterbox geometry, what the model
is fed, decoding with batched NMS, and the same people as the ultralytics path on real footage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from detection.backends.torch_pipeline import (
    PAD_VALUE,
    HostStaging,
    Letterbox,
    TorchDetector,
    TorchModel,
    canvas_shape,
    check_nms_iou,
    letterbox,
    to_frame,
)
from detection.detections import ClassMap, Detections

ROOT = Path(__file__).resolve().parents[2]
Row = tuple[float, ...]  # cx, cy, w, h, then one score per class


# --- letterbox geometry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "canvas", "expected"),
    [
        # 4:3 fits the width: 640x480, no padding on its own canvas.
        ((576, 768), (480, 640), Letterbox(576, 768, 480, 640, 0, 0)),
        # 16:9 on its own canvas: 360 rows rounded up to 384, 12 grey rows above and below.
        ((1080, 1920), (384, 640), Letterbox(1080, 1920, 360, 640, 12, 0)),
        # The same frame beside a 4:3 one shares the 480-row canvas: 60 rows above.
        ((1080, 1920), (480, 640), Letterbox(1080, 1920, 360, 640, 60, 0)),
        # Portrait: pads left and right.
        ((1920, 1080), (640, 384), Letterbox(1920, 1080, 640, 360, 0, 12)),
        # Small frames are scaled up, as ultralytics does.
        ((240, 320), (480, 640), Letterbox(240, 320, 480, 640, 0, 0)),
        # An odd padding (27 rows) puts 13 above and 14 below.
        ((101, 640), (128, 640), Letterbox(101, 640, 101, 640, 13, 0)),
        # Each side rounds on its own: 333x500 -> 426.2 rows -> 426.
        ((333, 500), (448, 640), Letterbox(333, 500, 426, 640, 11, 0)),
    ],
)
def test_letterbox_places_the_frame(
    size: tuple[int, int], canvas: tuple[int, int], expected: Letterbox
) -> None:
    assert letterbox(*size, 640, canvas) == expected


@pytest.mark.parametrize(
    ("sizes", "canvas"),
    [
        ([(576, 768)], (480, 640)),
        ([(1080, 1920)] * 3, (384, 640)),
        ([(1920, 1080)], (640, 384)),
        ([(576, 768), (1080, 1920)], (480, 640)),
        ([(1080, 1920), (1920, 1080)], (640, 640)),  # landscape and portrait: the full square
        ([(10, 10)], (640, 640)),
    ],
)
def test_canvas_is_the_smallest_stride_multiple_holding_every_frame(
    sizes: list[tuple[int, int]], canvas: tuple[int, int]
) -> None:
    assert canvas_shape(sizes, 640, 32) == canvas


SIZES = [(576, 768), (1080, 1920), (1920, 1080), (720, 1280), (333, 500), (101, 640), (50, 3000)]


@pytest.mark.parametrize("size", SIZES)
def test_geometry_agrees_with_ultralytics_letterbox(size: tuple[int, int]) -> None:
    """Alone, a frame gets ultralytics' minimum rectangle (`auto=True`); in a batch of mixed
    sizes ultralytics pads to the full square, where our arithmetic places it the same way."""
    from ultralytics.data.augment import LetterBox

    image = np.zeros((*size, 3), dtype=np.uint8)
    for auto, canvas in ((True, canvas_shape([size], 640, 32)), (False, (640, 640))):
        params = LetterBox(640, auto=auto, stride=32).get_params({"img": image})
        ours = letterbox(*size, 640, canvas)
        new_w, new_h = params["new_unpad"]
        assert (ours.new_h, ours.new_w, ours.top, ours.left) == (
            new_h,
            new_w,
            params["top"],
            params["left"],
        )
        assert canvas == (
            new_h + params["top"] + params["bottom"],
            new_w + params["left"] + params["right"],
        )


def test_boxes_map_back_to_each_frames_pixels() -> None:
    canvas = (480, 640)
    boxes = [letterbox(576, 768, 640, canvas), letterbox(1080, 1920, 640, canvas)]
    on_canvas = torch.tensor([[100.0, 120, 200, 220], [100, 120, 200, 220], [-5, 50, 700, 470]])
    owner = torch.tensor([0, 1, 1])
    mapped = to_frame(on_canvas, boxes, owner)
    expected = [
        [120, 144, 240, 264],  # gain 640/768: divide by 5/6
        [300, 180, 600, 480],  # gain 1/3 and 60 grey rows above
        [0, 0, 1920, 1080],  # outside the frame: clipped to it
    ]
    assert torch.allclose(mapped, torch.tensor(expected, dtype=torch.float32), atol=1e-3)


# --- a stand-in head: what the model is fed, and how its answer is decoded ---------------------

PEOPLE = ClassMap({0: "person", 1: "fallen", 2: "car"}, frozenset({0, 1}), frozenset({1}))


class FixedHead(torch.nn.Module):  # type: ignore[misc]  # torch is untyped
    """Answers like a YOLO head, (B, 4 + 3, anchors), with the rows given for each image; keeps
    the batch it was fed."""

    def __init__(self, rows: Sequence[Sequence[Row]]) -> None:
        super().__init__()
        anchors = max(len(image) for image in rows)
        table = torch.zeros(len(rows), 7, anchors)
        for index, image in enumerate(rows):
            if image:
                table[index, :, : len(image)] = torch.tensor(image).T
        self.register_buffer("table", table)
        self.fed: list[torch.Tensor] = []

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.fed.append(batch.clone())
        return self.table[: len(batch)].to(batch.dtype), None


def detector(rows: Sequence[Sequence[Row]], **options: Any) -> tuple[TorchDetector, FixedHead]:
    head = FixedHead(rows)
    found = TorchDetector(TorchModel("fixed", head, 32, PEOPLE), **options)
    head.fed.clear()  # forget the warm-up
    return found, head


def frame(height: int, width: int, bgr: tuple[int, int, int]) -> np.ndarray[Any, Any]:
    return np.full((height, width, 3), bgr, dtype=np.uint8)


def test_the_model_is_fed_letterboxed_rgb_in_0_to_1() -> None:
    found, head = detector([[]])
    found.detect([frame(1080, 1920, (10, 20, 30))])
    (batch,) = head.fed
    assert batch.shape == (1, 3, 384, 640) and batch.dtype == torch.float32
    grey = PAD_VALUE / 255
    assert torch.allclose(batch[0, :, :12], torch.full((3, 12, 640), grey))  # rows above
    assert torch.allclose(batch[0, :, 372:], torch.full((3, 12, 640), grey))  # rows below
    inside = batch[0, :, 12:372].reshape(3, -1)
    assert torch.allclose(inside, torch.tensor([[30.0], [20.0], [10.0]]) / 255)  # BGR -> RGB


def test_mixed_sizes_share_one_forward_pass() -> None:
    found, head = detector([[]])
    found.detect([frame(576, 768, (0, 0, 200)), frame(1080, 1920, (200, 0, 0))])
    (batch,) = head.fed
    assert batch.shape == (2, 3, 480, 640)
    assert torch.allclose(batch[0, 0], torch.full((480, 640), 200 / 255))  # red fills frame 0
    assert torch.allclose(batch[1, 2, 60:420], torch.full((360, 640), 200 / 255))  # blue, 1
    assert torch.allclose(batch[1, 2, :60], torch.full((60, 640), PAD_VALUE / 255))


def test_the_resize_in_the_models_dtype_fills_the_same_pixels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CUDA resizes in fp16 where CPU resizes uint8: the same code in fp32 stays within one
    grey level and a half of the uint8 path, whose kernel rounds fixed-point weights (the fp16
    kernel itself needs a GPU to check)."""
    image = np.random.default_rng(7).integers(0, 256, (576, 768, 3), dtype=np.uint8)
    fed = []
    for resize_dtype in (torch.uint8, torch.float32):
        found, head = detector([[]])
        monkeypatch.setattr(found, "_resize_dtype", resize_dtype)
        found.detect([image])
        fed.append(head.fed[0])
    assert (fed[0] - fed[1]).abs().max() <= 1.5 / 255


def test_staging_hands_each_size_group_its_own_slice() -> None:
    """The CUDA upload buffer's bookkeeping, unpinned on CPU: groups of a batch do not overlap,
    and a later, larger batch grows the buffer."""
    staging = HostStaging(pinned=False)
    small = [frame(2, 3, (i, i, i)) for i in (1, 2)]
    large = [frame(4, 5, (9, 8, 7))]
    staging.reserve(sum(image.nbytes for image in [*small, *large]))
    first = staging.upload(small, torch.device("cpu"))
    second = staging.upload(large, torch.device("cpu"))
    assert np.array_equal(first.numpy(), np.stack(small))  # not overwritten by the second group
    assert np.array_equal(second.numpy(), np.stack(large))
    bigger = [frame(40, 50, (3, 3, 3))]
    staging.reserve(bigger[0].nbytes)
    assert np.array_equal(staging.upload(bigger, torch.device("cpu")).numpy(), np.stack(bigger))


def as_lists(found: Detections) -> tuple[list[list[float]], list[float], list[int]]:
    return (
        np.round(found.xyxy.astype(np.float64), 2).tolist(),
        np.round(found.confidence.astype(np.float64), 2).tolist(),
        found.class_id.tolist(),
    )


def test_decoding_keeps_confident_people_once_per_overlap() -> None:
    rows: list[Row] = [
        (100, 100, 40, 80, 0.9, 0.0, 0.0),  # a person
        (102, 101, 40, 80, 0.0, 0.8, 0.0),  # the same person as "fallen": suppressed, agnostic
        (300, 100, 40, 80, 0.1, 0.3, 0.0),  # best class fallen at 0.3: kept, as class 1
        (400, 100, 40, 80, 0.2, 0.0, 0.0),  # under the 0.25 threshold
        (500, 100, 40, 80, 0.3, 0.0, 0.95),  # best class is a car: not a person
        (500, 300, 40, 80, 0.25, 0.0, 0.0),  # exactly at the threshold: not above it
    ]
    found, _ = detector([rows, rows])
    first, second = found.detect([frame(480, 640, (0, 0, 0))] * 2)
    expected = ([[80, 60, 120, 140], [280, 60, 320, 140]], [0.9, 0.3], [0, 1])
    assert as_lists(first) == expected
    assert as_lists(second) == expected  # NMS groups by image: the same boxes survive in each


def test_boxes_come_back_in_each_frames_pixels() -> None:
    box: Row = (150, 170, 100, 100, 0.9, 0.0, 0.0)  # canvas (100, 120, 200, 220)
    found, _ = detector([[box], [box], [box]])
    sizes = [(576, 768), (1080, 1920), (480, 640)]
    results = found.detect([frame(h, w, (0, 0, 0)) for h, w in sizes])
    assert [as_lists(r)[0] for r in results] == [
        [[120, 144, 240, 264]],
        [[300, 180, 600, 480]],
        [[100, 120, 200, 220]],
    ]


def test_at_most_max_detections_per_frame_the_most_confident_first() -> None:
    rows = [(50.0 * i + 20, 40, 20, 20, 0.3 + 0.05 * i, 0.0, 0.0) for i in range(10)]
    found, _ = detector([rows], max_detections=3)
    (result,) = found.detect([frame(480, 640, (0, 0, 0))])
    assert as_lists(result)[1] == [0.75, 0.7, 0.65]


def test_no_frames_no_forward_pass() -> None:
    found, head = detector([[]])
    assert found.detect([]) == []
    assert head.fed == []


# --- the real model on CPU: the same people as the ultralytics path ---------------------------


def iou(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """(N, M) intersection over union of xyxy boxes."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)  # type: ignore[no-any-return]


def assert_same_people(ours: Detections, theirs: Detections) -> None:
    """At most one box more or less; every box of the smaller set has a partner of IoU >= 0.9
    and of confidence within 0.05 (boxes near the threshold may come and go)."""
    assert abs(len(ours) - len(theirs)) <= 1, (len(ours), len(theirs))
    small, large = sorted((ours, theirs), key=len)
    if not len(small):
        return
    overlap = iou(small.xyxy, large.xyxy)
    partner = overlap.argmax(axis=1)
    assert len(set(partner.tolist())) == len(small), "two boxes share one partner"
    assert (overlap.max(axis=1) >= 0.9).all(), overlap.max(axis=1)
    gap = np.abs(small.confidence - large.confidence[partner])
    assert (gap <= 0.05).all(), gap


@pytest.fixture(scope="module")
def real() -> tuple[Any, TorchDetector, list[np.ndarray[Any, Any]]]:
    from cameras.pyav import open_video
    from detection.backends.ultralytics import UltralyticsDetector, load_torch_model
    from detection.weights import resolve

    reader = open_video(str(ROOT / "tests" / "data" / "vtest-20s.mp4"))
    frames = [f.image for f in reader.frames() if f.is_keyframe][:6]
    reader.close()
    model = resolve(ROOT / "models")
    return UltralyticsDetector(model), TorchDetector(load_torch_model(model)), frames


@pytest.mark.footage
def test_same_people_as_the_ultralytics_detector(
    real: tuple[Any, TorchDetector, list[np.ndarray[Any, Any]]],
) -> None:
    ultralytics, torch_detector, frames = real
    theirs, ours = ultralytics.detect(frames), torch_detector.detect(frames)
    assert sum(len(found) for found in theirs) >= 20  # the clip shows people: a real comparison
    for mine, reference in zip(ours, theirs, strict=True):
        assert_same_people(mine, reference)


@pytest.mark.footage
def test_mixed_sizes_in_one_batch_find_the_people_of_each_frame(
    real: tuple[Any, TorchDetector, list[np.ndarray[Any, Any]]],
) -> None:
    """A 768x576 frame, a 1.5x larger one and a portrait crop in one call. Ultralytics pads a
    batch of mixed sizes to the full square; ours is the same square here (landscape and
    portrait), so both see the same pixels and must find the same people in each frame."""
    import cv2

    ultralytics, torch_detector, frames = real
    batch = [
        frames[0],
        cv2.resize(frames[1], (1152, 864), interpolation=cv2.INTER_LINEAR),
        np.ascontiguousarray(frames[2][:, 200:584]),  # 576 rows, 384 columns
    ]
    assert canvas_shape([image.shape[:2] for image in batch], 640, 32) == (640, 640)
    ours, theirs = torch_detector.detect(batch), ultralytics.detect(batch)
    for image, mine, reference in zip(batch, ours, theirs, strict=True):
        assert len(reference) >= 2
        height, width = image.shape[:2]
        assert (mine.xyxy[:, 2] <= width).all() and (mine.xyxy[:, 3] <= height).all()
        assert_same_people(mine, reference)


@pytest.mark.footage
def test_a_lower_nms_overlap_merges_boxes_alike_on_both_detectors(
    real: tuple[Any, TorchDetector, list[np.ndarray[Any, Any]]],
) -> None:
    """Both paths honour `nms_iou`: at 0.5 no frame has more boxes than at 0.7, the footage's
    duplicate boxes (the offline model's, on the lawn's cloth) make some frame have fewer, and
    the two paths still agree."""
    from detection.backends.ultralytics import UltralyticsDetector, load_torch_model
    from detection.weights import resolve

    ultralytics, _torch_detector, frames = real
    model = resolve(ROOT / "models")
    strict_ultralytics = UltralyticsDetector(model, nms_iou=0.5)
    strict_torch = TorchDetector(load_torch_model(model), nms_iou=0.5)
    loose = [len(found) for found in ultralytics.detect(frames)]
    merged = strict_ultralytics.detect(frames)
    assert all(len(m) <= n for m, n in zip(merged, loose, strict=True))
    assert sum(len(m) for m in merged) < sum(loose)
    for mine, reference in zip(strict_torch.detect(frames), merged, strict=True):
        assert_same_people(mine, reference)


@pytest.mark.parametrize("nms_iou", [0.0, 0.01, 0.99, 1.5])
def test_an_nms_overlap_outside_its_range_is_refused(nms_iou: float) -> None:
    with pytest.raises(ValueError, match="nms_iou"):
        check_nms_iou(nms_iou)
