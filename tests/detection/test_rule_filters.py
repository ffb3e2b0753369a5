"""What a rule counts: classes (by name), confidence, box height and masks."""

from __future__ import annotations

import numpy as np
import pytest

from detection.detections import ClassMap, Detections
from detection.rules.filters import ObjectFilter, RuleConfigError
from hub.contracts import CrowdRuleSpec, FallRuleSpec

WIDTH, HEIGHT = 200, 100
COCO = ClassMap({0: "person", 2: "car", 3: "motorcycle"}, frozenset({0}))
FALL_MODEL = ClassMap({0: "Normal", 1: "Fall"}, frozenset({0, 1}), frozenset({1}))


def boxes(rows: list[tuple[float, float, float, float, float, int]]) -> Detections:
    array = np.array(rows, dtype=np.float32).reshape(len(rows), 6)
    return Detections(array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


FRAME = boxes(
    [
        (10, 10, 20, 90, 0.9, 0),  # tall person, left
        (100, 40, 110, 50, 0.9, 0),  # small (far) person
        (150, 10, 160, 90, 0.3, 0),  # weak person, right
        (50, 50, 90, 90, 0.8, 2),  # car
    ]
)


def kept(rule: CrowdRuleSpec, class_map: ClassMap = COCO, frame: Detections = FRAME) -> list[int]:
    objects = ObjectFilter.for_rule(rule, class_map)
    chosen = objects.apply(frame, WIDTH, HEIGHT)
    return [int(x1) for x1 in chosen.xyxy[:, 0]]


def rule(**fields: object) -> CrowdRuleSpec:
    return CrowdRuleSpec.model_validate({"id": "r", "zone_id": "z", **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, [10, 100, 150]),
        ({"classes": ["car"]}, [50]),
        ({"classes": ["person", "car"]}, [10, 100, 150, 50]),
        ({"min_confidence": 0.5}, [10, 100]),
        ({"min_box_height": 0.5}, [10, 150]),
        ({"masks": [[(0.6, 0), (1, 0), (1, 1), (0.6, 1)]]}, [10, 100]),
    ],
)
def test_filter_table(fields: dict[str, object], expected: list[int]) -> None:
    assert sorted(kept(rule(**fields))) == sorted(expected)


def test_person_means_the_models_person_classes() -> None:
    frame = boxes([(10, 10, 20, 90, 0.9, 0), (30, 60, 90, 90, 0.9, 1)])
    assert kept(rule(), FALL_MODEL, frame) == [10, 30]


def test_unknown_class_is_a_clear_error_naming_the_models_classes() -> None:
    with pytest.raises(RuleConfigError, match=r"no class 'bicycle' \(car, motorcycle, person\)"):
        ObjectFilter.for_rule(rule(classes=["bicycle"]), COCO)


def test_fall_rule_on_a_model_without_fallen_classes_says_what_to_do() -> None:
    fall = FallRuleSpec(id="f", zone_id="z")
    with pytest.raises(RuleConfigError, match="classes: \\[person\\]"):
        ObjectFilter.for_rule(fall, COCO)
    assert ObjectFilter.for_rule(fall, FALL_MODEL).class_ids == frozenset({1})
