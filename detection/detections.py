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
    """Boxes of one frame: `xyxy` in pixels (N, 4), `confidence` (N,), `class_id` (N,)."""

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray

    def __post_init__(self) -> None:
        count = len(self.xyxy)
        if self.xyxy.shape != (count, 4):
            raise ValueError(f"xyxy must be (N, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (count,) or self.class_id.shape != (count,):
            raise ValueError("confidence and class_id must be (N,) like xyxy")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            np.zeros((0, 4), dtype=np.float32),
            np.zeros(0, dtype=np.float32),
            np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, mask: BoolArray) -> Detections:
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask])

    def of_classes(self, class_ids: frozenset[int]) -> Detections:
        return self.select(np.isin(self.class_id, list(class_ids)))

    def bottom_centres(self) -> FloatArray:
        """Anchor points (N, 2): where a person stands, the default anchor for zone tests."""
        x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        return np.stack([x, self.xyxy[:, 3]], axis=1).astype(np.float32)
