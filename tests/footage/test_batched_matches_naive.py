"""Our batched detector path finds the same people as ultralytics' own one-frame loop."""

from __future__ import annotations

import numpy as np
import pytest

from cameras.pyav import open_video
from detection.backends.ultralytics import UltralyticsDetector
from detection.weights import resolve
from tests.footage.replay import ROOT

pytestmark = pytest.mark.footage


def test_batched_detections_match_the_naive_loop() -> None:
    from ultralytics import YOLO

    reader = open_video(str(ROOT / "tests" / "data" / "vtest-20s.mp4"))
    frames = [frame.image for frame in reader.frames() if frame.is_keyframe][:6]
    reader.close()
    model = resolve(ROOT / "models")
    detector = UltralyticsDetector(model)
    ours = detector.detect(frames)
    people = sorted(detector.class_map.person_ids)  # a COCO model also finds cars
    naive_model = YOLO(str(model.path), task="detect")
    for frame, batched in zip(frames, ours, strict=True):
        result = naive_model.predict(frame, verbose=False, agnostic_nms=True, classes=people)[0]
        boxes = result.boxes.xyxy.numpy()
        assert len(batched) == len(boxes)
        # Same boxes within a pixel or two, matched greedily by their top-left corner.
        order_naive = np.lexsort((boxes[:, 1], boxes[:, 0]))
        order_ours = np.lexsort((batched.xyxy[:, 1], batched.xyxy[:, 0]))
        assert np.allclose(batched.xyxy[order_ours], boxes[order_naive], atol=2.0)
