"""The ultralytics adapter: the only module that imports ultralytics.

Loads a YOLO model from a local file (never from a hub) and turns its results into our
`Detections`. Blocking: call it from the inference thread, never from the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from detection.backends.torch_pipeline import NMS_IOU, TorchModel, check_nms_iou
from detection.detections import ClassMap, Detections
from detection.weights import FETCH_HINT, ResolvedModel, WeightsError

# Never reach for the network (settings sync, asset downloads): the network is closed.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

from ultralytics import YOLO


class UltralyticsDetector:
    """A YOLO detector on one device; `detect` takes a batch of BGR images."""

    def __init__(
        self,
        model: ResolvedModel,
        *,
        device: str = "cpu",
        image_size: int = 640,
        min_confidence: float = 0.25,
        max_detections: int = 1000,  # crowds: never cap at a few dozen boxes
        cpu_threads: int | None = None,
        nms_iou: float = NMS_IOU,
    ) -> None:
        check_nms_iou(nms_iou)
        self.name = model.entry.name
        self._nms_iou = nms_iou
        self._device = device
        self._image_size = image_size
        self._min_confidence = min_confidence
        self._max_detections = max_detections
        self._model = _load(model)
        names: dict[int, str] = {int(k): str(v) for k, v in self._model.names.items()}
        self.class_map = _class_map(model, names)
        self._warm_up(cpu_threads or os.cpu_count() or 1)

    def _warm_up(self, cpu_threads: int) -> None:
        """First call builds the predictor; ultralytics then leaves torch one core short on CPU
        (cpu_count - 1 threads, meant for training), so set the threads we want after it."""
        self.detect([np.zeros((64, 64, 3), dtype=np.uint8)])
        if self._device == "cpu":
            torch.set_num_threads(cpu_threads)

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        if not images:
            return []
        results = self._model.predict(
            list(images),
            device=self._device,
            imgsz=self._image_size,
            conf=self._min_confidence,
            max_det=self._max_detections,
            classes=sorted(self.class_map.person_ids),
            agnostic_nms=True,  # "Normal" and "Fall" boxes on one person are one person
            iou=self._nms_iou,
            verbose=False,
        )
        return [_detections(result) for result in results]


def load_torch_model(model: ResolvedModel, *, device: str = "cpu") -> TorchModel:
    """The model's own torch module, for `TorchDetector`'s device-side pre- and post-processing:
    conv and batch-norm fused, eval mode, gradients off, on `device`, with its stride and classes.
    A path ending in `.yaml` builds the architecture with random weights (same compute)."""
    yolo = _load(model)
    module = yolo.model
    if getattr(module, "end2end", False):  # NMS-free heads (YOLO26, YOLOv10) answer (B, 300, 6)
        raise WeightsError(
            f"model {model.entry.name} has an end-to-end head, which the torch detector does not "
            "decode; use the ultralytics detector for it"
        )
    module = module.fuse(verbose=False).eval().requires_grad_(False).to(device)
    names: dict[int, str] = {int(k): str(v) for k, v in yolo.names.items()}
    return TorchModel(model.entry.name, module, int(module.stride.max()), _class_map(model, names))


def _load(model: ResolvedModel) -> Any:
    try:
        return YOLO(str(model.path), task="detect")
    except Exception as error:  # ultralytics raises many types for a bad file
        raise WeightsError(
            f"model weights {model.path} could not be loaded ({type(error).__name__}): "
            f"the file is corrupt or not a YOLO model; delete it and {FETCH_HINT}"
        ) from None


def _class_map(model: ResolvedModel, names: dict[int, str]) -> ClassMap:
    by_name = {name: class_id for class_id, name in names.items()}
    missing = [name for name in model.entry.person_classes if name not in by_name]
    if missing:
        raise WeightsError(
            f"model {model.entry.name} has no class {missing[0]!r} (it has "
            f"{sorted(by_name)}); fix person_classes in models/manifest.toml"
        )
    person_ids = frozenset(by_name[name] for name in model.entry.person_classes)
    fallen_ids = frozenset(by_name[n] for n in model.entry.fallen_classes if n in by_name)
    return ClassMap(names, person_ids, fallen_ids)


def _detections(result: Any) -> Detections:
    boxes = result.boxes
    return Detections(
        boxes.xyxy.cpu().numpy().astype(np.float32),
        boxes.conf.cpu().numpy().astype(np.float32),
        boxes.cls.cpu().numpy().astype(np.int64),
    )
