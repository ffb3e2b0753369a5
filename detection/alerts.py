"""Turn rule outcomes into wire `Alert`s: geo-tagged, with a deterministic id."""

from __future__ import annotations

from datetime import datetime, timedelta

from detection.analyzer import RuleOutcome
from detection.detections import ClassMap
from hub.contracts import (
    Alert,
    AlertKind,
    AlertStatus,
    Box,
    CameraSpec,
    DetectionSummary,
    LineCounts,
    alert_id,
    place_of,
)


def build_alert(
    camera: CameraSpec,
    outcome: RuleOutcome,
    *,
    epoch: datetime,
    frame_size: tuple[int, int],
    class_map: ClassMap,
    model_name: str,
    snapshot_ref: str | None,
) -> Alert:
    """`epoch` is the wall time of stream time 0; `frame_size` is (width, height)."""
    event, rule = outcome.event, outcome.rule
    started_at = epoch + timedelta(seconds=event.started_s)
    at = epoch + timedelta(seconds=event.at_s)
    ended = event.type in ("ended", "crossed")
    place = place_of(rule)
    totals = event.totals
    return Alert(
        id=alert_id(camera.id, place, rule.id, started_at, event.track_id),
        revision=event.revision,
        camera_id=camera.id,
        camera_name=camera.name,
        kind=AlertKind(rule.kind),
        level=event.level,
        status=AlertStatus.ENDED if ended else AlertStatus.ACTIVE,
        started_at=started_at,
        updated_at=at,
        ended_at=at if ended else None,
        people_count=event.count,
        peak_people=event.peak,
        zone_id=place,
        rule_id=rule.id,
        location=camera.location,
        grid_cell=camera.grid_cell,
        detections=_summary(outcome, frame_size, class_map, model_name),
        track_id=event.track_id,
        direction=event.direction,
        line_counts=None if totals is None else LineCounts(in_total=totals[0], out_total=totals[1]),
        density_per_m2=None if event.density_per_m2 is None else round(event.density_per_m2, 4),
        trigger=event.trigger,
        snapshot_ref=snapshot_ref,
    )


def _summary(
    outcome: RuleOutcome, frame_size: tuple[int, int], class_map: ClassMap, model_name: str
) -> DetectionSummary:
    width, height = frame_size
    people = outcome.objects
    boxes = [
        Box(
            x1=round(float(x1) / width, 4),
            y1=round(float(y1) / height, 4),
            x2=round(float(x2) / width, 4),
            y2=round(float(y2) / height, 4),
            confidence=round(float(confidence), 3),
            label=class_map.names.get(int(class_id), str(int(class_id))),
        )
        for (x1, y1, x2, y2), confidence, class_id in zip(
            people.xyxy, people.confidence, people.class_id, strict=True
        )
    ]
    return DetectionSummary(
        people_in_zone=outcome.event.count,
        people_in_frame=outcome.objects_in_frame,
        boxes=boxes,
        model=model_name,
    )
