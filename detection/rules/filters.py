"""What a rule counts: its classes, confidence, box size and masks, prepared once per model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.detections import ClassMap, Detections
from detection.zones import Zone, polygon_zone
from hub.contracts import RuleBase

# Names a rule may use for the model's own groups of classes (see models/manifest.toml).
PERSON = "person"
FALLEN = "fallen"


class RuleConfigError(ValueError):
    """A rule asks for something the camera's model cannot give; the message says what."""


@dataclass(frozen=True)
class ObjectFilter:
    class_ids: frozenset[int]
    min_confidence: float
    min_box_height: float  # share of the frame height
    masks: tuple[Zone, ...]

    @classmethod
    def for_rule(cls, rule: RuleBase, class_map: ClassMap) -> ObjectFilter:
        ids: set[int] = set()
        for name in rule.classes:
            ids |= _class_ids(name, class_map, rule.id)
        masks = tuple(
            polygon_zone(f"{rule.id}-mask-{number}", polygon)
            for number, polygon in enumerate(rule.masks)
        )
        return cls(frozenset(ids), rule.min_confidence, rule.min_box_height, masks)

    def apply(self, detections: Detections, frame_width: int, frame_height: int) -> Detections:
        keep = np.isin(detections.class_id, list(self.class_ids))
        keep &= detections.confidence >= self.min_confidence
        if self.min_box_height > 0:
            keep &= detections.heights() >= self.min_box_height * frame_height
        for mask in self.masks:
            keep &= ~mask.contains(detections, frame_width, frame_height)
        return detections.select(keep)


def _class_ids(name: str, class_map: ClassMap, rule_id: str) -> frozenset[int]:
    if name == PERSON:
        return class_map.person_ids
    if name == FALLEN:
        if not class_map.fallen_ids:
            raise RuleConfigError(
                f"rule {rule_id!r} needs fallen-person classes, which this model does not have;"
                " set classes: [person] to judge falls by box shape alone"
            )
        return class_map.fallen_ids
    ids = frozenset(key for key, value in class_map.names.items() if value == name)
    if not ids:
        known = ", ".join(sorted(set(class_map.names.values())))
        raise RuleConfigError(f"rule {rule_id!r}: the model has no class {name!r} ({known})")
    return ids
