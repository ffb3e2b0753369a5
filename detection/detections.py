"""`Detections`: one model-agnostic value for a frame's boxes (parallel arrays, pixels)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ClassMap:
    """Which of a model's class ids are people, and which of those are fallen people."""

    names: dict[int, str]
    person_ids: frozenset[int]
    fallen_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Detections:
    """Boxes of one frame: `xyxy` in pixels (N, 4), `confidence` (N,), `class_id` (N,), and
    `track_id` (N,) once a tracker has run (None before)."""

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    track_id: IntArray | None = None

    def __post_init__(self) -> None:
        count = len(self.xyxy)
        if self.xyxy.shape != (count, 4):
            raise ValueError(f"xyxy must be (N, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (count,) or self.class_id.shape != (count,):
            raise ValueError("confidence and class_id must be (N,) like xyxy")
        if self.track_id is not None and self.track_id.shape != (count,):
            raise ValueError("track_id must be (N,) like xyxy")

    @classmethod
    def empty(cls, *, tracked: bool = False) -> Detections:
        return cls(
            np.zeros((0, 4), dtype=np.float32),
            np.zeros(0, dtype=np.float32),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64) if tracked else None,
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, mask: BoolArray) -> Detections:
        return self.select_rows(mask)

    def select_rows(self, index: BoolArray | IntArray) -> Detections:
        """The rows a mask or an index array picks, in that order."""
        track_id = None if self.track_id is None else self.track_id[index]
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], track_id)

    def with_track_ids(self, track_id: IntArray) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, track_id)

    @property
    def tracks(self) -> IntArray:
        """Track ids; an error before tracking, so a rule never mistakes rows for identities."""
        if self.track_id is None:
            raise ValueError("these detections are not tracked")
        return self.track_id

    def heights(self) -> FloatArray:
        return (self.xyxy[:, 3] - self.xyxy[:, 1]).astype(np.float32)

    def widths(self) -> FloatArray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]).astype(np.float32)

    def of_classes(self, class_ids: frozenset[int]) -> Detections:
        return self.select(np.isin(self.class_id, list(class_ids)))

    def bottom_centres(self) -> FloatArray:
        """Anchor points (N, 2): where a person stands, the default anchor for zone tests."""
        x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        return np.stack([x, self.xyxy[:, 3]], axis=1).astype(np.float32)
