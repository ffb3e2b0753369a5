"""A YOLO detector whose pre- and post-processing run as tensor code on the model's device.

Ultralytics' `predict` letterboxes each frame on the CPU and runs NMS image by image; on a GPU
that orchestration, not the model, sets the pace. Here a batch of BGR frames is uploaded (one
copy per frame size, from pinned memory on CUDA), letterboxed, normalised and run in one forward
pass (fp16 on CUDA), and one class-agnostic `batched_nms` (one group per image) decodes the
whole batch. The same code runs on CPU in fp32, which is how it is tested. Imports torch and
torchvision only: `detection.backends.ultralytics.load_torch_model` builds the `TorchModel`.
Blocking: call it from the inference thread, never from the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (torch's own convention)
from torchvision.ops import batched_nms

from detection.detections import ClassMap, Detections

Image = np.ndarray[Any, Any]
PAD_VALUE = 114  # ultralytics' LetterBox grey, so both paths see the same borders
NMS_IOU = 0.7  # ultralytics' predict default


def check_nms_iou(nms_iou: float) -> None:
    """Boxes overlapping more than this are one object. Lower merges a person's duplicate boxes
    but also two people standing close: a crowd's count falls first."""
    if not 0.05 <= nms_iou <= 0.95:
        raise ValueError(f"nms_iou must be between 0.05 and 0.95, not {nms_iou}")


@dataclass(frozen=True)
class TorchModel:
    """What the detector needs from a loaded model: an eval-mode module on its device whose
    output is the YOLOv8/YOLO11 head, (B, 4 + classes, anchors) with boxes as cx, cy, w, h."""

    name: str
    module: torch.nn.Module
    stride: int
    class_map: ClassMap


@dataclass(frozen=True)
class Letterbox:
    """Where one frame lands on the model's canvas: resized to `new_h` x `new_w`, placed at
    (`left`, `top`). Gains are per axis because each side is rounded to whole pixels."""

    height: int
    width: int
    new_h: int
    new_w: int
    top: int
    left: int

    @property
    def gain_x(self) -> float:
        return self.new_w / self.width

    @property
    def gain_y(self) -> float:
        return self.new_h / self.height


def letterbox(height: int, width: int, image_size: int, canvas: tuple[int, int]) -> Letterbox:
    """Ultralytics' LetterBox arithmetic: scale to fit `image_size` square (up or down), round
    each side, centre on the canvas (an odd padding puts the extra pixel bottom and right)."""
    scale = min(image_size / height, image_size / width)
    new_h, new_w = max(round(height * scale), 1), max(round(width * scale), 1)
    top = round((canvas[0] - new_h) / 2 - 0.1)
    left = round((canvas[1] - new_w) / 2 - 0.1)
    return Letterbox(height, width, new_h, new_w, top, left)


def canvas_shape(sizes: Sequence[tuple[int, int]], image_size: int, stride: int) -> tuple[int, int]:
    """The smallest stride-multiple canvas that holds every resized frame of the batch. For frames
    of one size this is ultralytics' minimum rectangle (`auto=True`): 768x576 gives 640x480."""
    boxes = [letterbox(h, w, image_size, (0, 0)) for h, w in sizes]
    return (
        _round_up(max(box.new_h for box in boxes), stride),
        _round_up(max(box.new_w for box in boxes), stride),
    )


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def to_frame(xyxy: torch.Tensor, boxes: Sequence[Letterbox], image: torch.Tensor) -> torch.Tensor:
    """Canvas boxes (N, 4) back to their frames' pixels, clipped; `image` (N,) says which
    frame of `boxes` each box belongs to."""
    table = torch.tensor(
        [[b.left, b.top, b.gain_x, b.gain_y, b.width, b.height] for b in boxes],
        dtype=xyxy.dtype,
        device=xyxy.device,
    )[image]
    offset = table[:, [0, 1, 0, 1]]
    gain = table[:, [2, 3, 2, 3]]
    limit = table[:, [4, 5, 4, 5]]
    return torch.minimum((xyxy - offset) / gain, limit).clamp(min=0)


def xywh_to_xyxy(xywh: torch.Tensor) -> torch.Tensor:
    centre, size = xywh[:, :2], xywh[:, 2:4] / 2
    return torch.cat((centre - size, centre + size), dim=1)


class TorchDetector:
    """A YOLO detector on one device; `detect` takes a batch of BGR uint8 frames of any sizes."""

    def __init__(
        self,
        model: TorchModel,
        *,
        device: str = "cpu",
        image_size: int = 640,
        min_confidence: float = 0.25,
        max_detections: int = 1000,  # crowds: never cap at a few dozen boxes
        cpu_threads: int | None = None,
        nms_iou: float = NMS_IOU,
    ) -> None:
        check_nms_iou(nms_iou)
        self.name = model.name
        self._nms_iou = nms_iou
        self.class_map = model.class_map
        self._device = torch.device(device)
        self._cuda = self._device.type == "cuda"
        self._dtype = torch.float16 if self._cuda else torch.float32
        # CPU resizes uint8 (a channels-last kernel 10x faster than float, rounding as cv2 does);
        # CUDA resizes in the model's fp16, a kernel known to exist there.
        self._resize_dtype = self._dtype if self._cuda else torch.uint8
        # oneDNN's CPU convolutions are faster channels-last (ultralytics' AutoBackend does the
        # same on CPU); CUDA keeps the default layout, as ultralytics does.
        cpu_channels_last = not self._cuda and torch.backends.mkldnn.is_available()
        self._layout = torch.channels_last if cpu_channels_last else torch.contiguous_format
        self._module = model.module.to(self._device, self._dtype, memory_format=self._layout)
        self._stride = model.stride
        self._image_size = image_size
        self._min_confidence = min_confidence
        self._max_detections = max_detections
        self._person_ids = torch.tensor(sorted(model.class_map.person_ids), device=self._device)
        self._staging = HostStaging(pinned=True) if self._cuda else None
        if not self._cuda:
            torch.set_num_threads(cpu_threads or os.cpu_count() or 1)
        self.detect([np.zeros((64, 64, 3), dtype=np.uint8)])  # lazy inits outside the first batch

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        if not images:
            return []
        with torch.inference_mode():
            sizes = [(image.shape[0], image.shape[1]) for image in images]
            canvas = canvas_shape(sizes, self._image_size, self._stride)
            boxes = [letterbox(h, w, self._image_size, canvas) for h, w in sizes]
            prediction = self._module(self._batch(images, boxes, canvas))
            if isinstance(prediction, tuple | list):  # eval mode answers (decoded, raw features)
                prediction = prediction[0]
            return self._decode(prediction.float(), boxes)

    def _batch(
        self, images: Sequence[Image], boxes: list[Letterbox], canvas: tuple[int, int]
    ) -> torch.Tensor:
        """(B, 3, H, W) RGB in 0..1; frames of one size are uploaded, resized, placed together."""
        shape = (len(images), 3, *canvas)
        batch = torch.empty(
            shape, dtype=self._dtype, device=self._device, memory_format=self._layout
        ).fill_(PAD_VALUE / 255)
        if self._staging is not None:
            self._staging.reserve(sum(image.nbytes for image in images))
        for indices in _same_size(images):
            box = boxes[indices[0]]
            pixels = self._upload([images[i] for i in indices])  # (n, H, W, 3) uint8 BGR
            pixels = pixels.permute(0, 3, 1, 2).to(self._resize_dtype)  # (n, 3, H, W) BGR
            if (box.new_h, box.new_w) != (box.height, box.width):
                size = (box.new_h, box.new_w)
                pixels = F.interpolate(pixels, size, mode="bilinear", align_corners=False)
            rows = slice(box.top, box.top + box.new_h)
            columns = slice(box.left, box.left + box.new_w)
            batch[indices, :, rows, columns] = pixels.flip(1).to(self._dtype).div_(255)  # RGB
        return batch

    def _upload(self, images: list[Image]) -> torch.Tensor:
        if self._staging is None:  # CPU: the model reads host memory as it is
            return torch.from_numpy(np.stack(images))
        return self._staging.upload(images, self._device)

    def _decode(self, prediction: torch.Tensor, boxes: list[Letterbox]) -> list[Detections]:
        """Best class per anchor, confidence and person filters, one batched NMS, max_det per
        frame, boxes to frame pixels; one device-to-host copy for the whole batch."""
        rows = prediction.transpose(1, 2)  # (B, anchors, 4 + classes)
        confidence, class_id = rows[..., 4:].max(dim=-1)
        wanted = (confidence > self._min_confidence) & torch.isin(class_id, self._person_ids)
        image, anchor = wanted.nonzero(as_tuple=True)
        xyxy = xywh_to_xyxy(rows[image, anchor, :4])
        confidence, class_id = confidence[image, anchor], class_id[image, anchor]
        keep = batched_nms(xyxy, confidence, image, self._nms_iou)  # by descending confidence
        image = image[keep]
        columns = (
            to_frame(xyxy[keep], boxes, image),
            confidence[keep, None],
            class_id[keep, None].to(xyxy.dtype),
        )
        found = torch.cat(columns, dim=1).cpu().numpy()
        owners = image.cpu().numpy()
        return [self._detections(found[owners == index]) for index in range(len(boxes))]

    def _detections(self, rows: Image) -> Detections:
        rows = rows[: self._max_detections]
        return Detections(
            rows[:, :4].astype(np.float32),
            rows[:, 4].astype(np.float32),
            rows[:, 5].astype(np.int64),
        )


def _same_size(images: Sequence[Image]) -> list[list[int]]:
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.shape, []).append(index)
    return list(groups.values())


class HostStaging:
    """One reusable host buffer that frames are copied into before one upload per frame size.
    Page-locked (`pinned`, CUDA only) it makes host-to-device copies several times faster and
    lets them run without blocking the thread. `detect` ends with a device-to-host copy, which
    waits for the uploads, so the next batch may overwrite the buffer."""

    def __init__(self, *, pinned: bool) -> None:
        self._pinned = pinned
        self._buffer = torch.empty(0, dtype=torch.uint8)
        self._used = 0

    def reserve(self, size_bytes: int) -> None:
        """Start a batch of this many bytes."""
        if size_bytes > self._buffer.numel():
            self._buffer = torch.empty(size_bytes, dtype=torch.uint8, pin_memory=self._pinned)
        self._used = 0

    def upload(self, images: list[Image], device: torch.device) -> torch.Tensor:
        """Frames of one size as one (n, H, W, C) uint8 tensor on `device`."""
        shape = (len(images), *images[0].shape)
        size = int(np.prod(shape))
        host = self._buffer[self._used : self._used + size].view(shape)
        self._used += size
        staged = host.numpy()
        for index, image in enumerate(images):
            staged[index] = image
        return host.to(device, non_blocking=self._pinned)
