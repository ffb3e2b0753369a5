"""Percentiles and the per-group aggregates of stage durations (pure).

Percentiles use the nearest-rank method everywhere: P(p) of n sorted values is the value at rank
ceil(p / 100 * n) (1-based). It always returns a value that was observed (no interpolation), so a
P90 of 10 arrivals is the 9th fastest, as NFPA-style "90 % within X" targets read it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hub.reports.stages import Sample, Stage


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupBy(StrEnum):
    ALL = "all"
    COLOUR = "colour"
    KIND = "kind"
    GRID_CELL = "grid_cell"
    RESPONDER = "responder"
    RING = "ring"
    RULE = "rule"
    CAMERA = "camera"


class StageRow(Row):
    stage: Stage
    group_by: GroupBy
    group: str = Field(description="The group's value; `all` for group_by all")
    count: int = Field(ge=1)
    p50_s: float
    p90_s: float


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of `values` (any order); `p` in (0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is outside (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[rank - 1]


def groups(sample: Sample) -> list[tuple[GroupBy, str]]:
    """The groups a sample counts in: all, its incident's colour, kind, grid cell, responder."""
    incident = sample.incident
    found = [
        (GroupBy.ALL, "all"),
        (GroupBy.COLOUR, incident.colour.value),
        (GroupBy.KIND, incident.kind),
        (GroupBy.GRID_CELL, incident.grid_cell or "none"),
    ]
    if sample.responder_id is not None:
        found.append((GroupBy.RESPONDER, sample.responder_id))
    return found


def aggregate(samples: Iterable[Sample]) -> list[StageRow]:
    """Count, P50 and P90 per stage and group, in stage, group_by and group order."""
    buckets: dict[tuple[Stage, GroupBy, str], list[float]] = defaultdict(list)
    for sample in samples:
        for group_by, group in groups(sample):
            buckets[(sample.stage, group_by, group)].append(sample.seconds)
    stage_order = list(Stage)
    group_order = list(GroupBy)

    def order(key: tuple[Stage, GroupBy, str]) -> tuple[int, int, str]:
        return stage_order.index(key[0]), group_order.index(key[1]), key[2]

    return [
        StageRow(
            stage=stage,
            group_by=group_by,
            group=group,
            count=len(values),
            p50_s=percentile(values, 50),
            p90_s=percentile(values, 90),
        )
        for (stage, group_by, group), values in sorted(buckets.items(), key=lambda kv: order(kv[0]))
    ]
