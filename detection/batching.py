"""Cross-camera batching: pure, time is an argument.

At most one frame per camera waits (the latest wins); a batch is ready when `max_size` cameras
wait or the oldest has waited `max_wait_s`; frames older than `max_age_s` are dropped when a batch
is taken. Every drop is counted by its cause.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")

SUPERSEDED = "superseded"  # a newer frame of the same camera replaced it
STALE = "stale"  # waited longer than max_age_s


@dataclass(frozen=True)
class Waiting(Generic[Item]):
    camera_id: str
    item: Item
    arrived_s: float


@dataclass
class Batcher(Generic[Item]):
    max_size: int
    max_wait_s: float
    max_age_s: float
    drops: Counter[str] = field(default_factory=Counter)
    _waiting: dict[str, Waiting[Item]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_wait_s < 0 or self.max_age_s <= 0:
            raise ValueError("need max_size >= 1, max_wait_s >= 0 and max_age_s > 0")

    def __len__(self) -> int:
        return len(self._waiting)

    def offer(self, camera_id: str, item: Item, now_s: float) -> Waiting[Item] | None:
        """Queue a camera's frame; returns the frame it superseded, if any (already counted)."""
        replaced = self._waiting.pop(camera_id, None)
        if replaced is not None:
            self.drops[SUPERSEDED] += 1
        self._waiting[camera_id] = Waiting(camera_id, item, now_s)
        return replaced

    def ready(self, now_s: float) -> bool:
        if len(self._waiting) >= self.max_size:
            return True
        oldest = self._oldest_arrival()
        return oldest is not None and now_s - oldest >= self.max_wait_s

    def wait_s(self, now_s: float) -> float | None:
        """How long until a batch is due by time (0 when ready); None when nothing waits."""
        if self.ready(now_s):
            return 0.0
        oldest = self._oldest_arrival()
        return None if oldest is None else oldest + self.max_wait_s - now_s

    def take(self, now_s: float) -> tuple[list[Waiting[Item]], list[Waiting[Item]]]:
        """(batch, stale): up to `max_size` frames, oldest first, and the stale ones dropped."""
        stale = [w for w in self._waiting.values() if now_s - w.arrived_s > self.max_age_s]
        for waiting in stale:
            del self._waiting[waiting.camera_id]
        if stale:
            self.drops[STALE] += len(stale)
        ordered = sorted(self._waiting.values(), key=lambda w: w.arrived_s)
        batch = ordered[: self.max_size]
        for waiting in batch:
            del self._waiting[waiting.camera_id]
        return batch, stale

    def _oldest_arrival(self) -> float | None:
        return min((w.arrived_s for w in self._waiting.values()), default=None)
