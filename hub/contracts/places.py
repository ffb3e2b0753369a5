"""Checks across a camera's zones, lines and rules: ids unique, every rule on a place of the same
camera, densities only where the calibration can measure the zone. Shared by `CameraSpec` and the
hub's registration schemas."""

from __future__ import annotations

from hub.contracts.calibration import GroundCalibration
from hub.contracts.common import LineSpec, ZoneSpec
from hub.contracts.rules import CrowdRuleSpec, LineCrossingRuleSpec, RuleSpec


def check_zones_and_rules(
    zones: list[ZoneSpec],
    rules: list[RuleSpec],
    lines: list[LineSpec] | None = None,
    ground_calibration: GroundCalibration | None = None,
) -> None:
    """Unique ids, every rule on a zone (or line) of the same camera, densities only on a
    calibrated camera and a zone below its horizon; ValueError says which."""
    lines = lines or []
    zone_ids = {zone.id for zone in zones}
    line_ids = {line.id for line in lines}
    if len(zone_ids) != len(zones):
        raise ValueError("zone ids must be unique within a camera")
    if len(line_ids) != len(lines):
        raise ValueError("line ids must be unique within a camera")
    if zone_ids & line_ids:
        raise ValueError(f"zones and lines share ids: {sorted(zone_ids & line_ids)}")
    rule_ids = [rule.id for rule in rules]
    if len(set(rule_ids)) != len(rule_ids):
        raise ValueError("rule ids must be unique within a camera")
    for rule in rules:
        if isinstance(rule, LineCrossingRuleSpec):
            if rule.line_id not in line_ids:
                raise ValueError(f"rule {rule.id!r} names unknown line {rule.line_id!r}")
        elif rule.zone_id not in zone_ids:
            raise ValueError(f"rule {rule.id!r} names unknown zone {rule.zone_id!r}")
        if not isinstance(rule, CrowdRuleSpec) or rule.min_density_per_m2 is None:
            continue
        if ground_calibration is None:
            raise ValueError(
                f"rule {rule.id!r} sets min_density_per_m2, which needs the camera's"
                " ground_calibration (4 image points and their ground positions in metres)"
            )
        _check_measurable(rule, zones, ground_calibration)


def _check_measurable(
    rule: CrowdRuleSpec, zones: list[ZoneSpec], calibration: GroundCalibration
) -> None:
    """A density rule's zone must lie wholly on the ground the calibration sees: the worker
    cannot measure a zone reaching past the horizon, and would refuse the rule."""
    zone = next(zone for zone in zones if zone.id == rule.zone_id)
    points = [(float(x), float(y)) for x, y in zone.polygon]
    beyond = calibration.beyond_horizon(points)
    if beyond:
        vertices = ", ".join(str(i + 1) for i in beyond)
        raise ValueError(
            f"rule {rule.id!r} sets min_density_per_m2, but zone {zone.id!r} (vertices"
            f" {vertices}) reaches past the ground_calibration's horizon, so its area in m² is"
            " unknown: keep the zone below the horizon, or recalibrate"
        )


__all__ = ["check_zones_and_rules"]
