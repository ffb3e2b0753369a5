"""Video patrol (轮巡) wire types: plans, the patrol log and reports from patrol (pydantic only).

Plans are written as `PlanIn` and read as `Plan` (with the route the hub resolved). Log entries
are written as `ViewIn` by the patrol page and read as `LogEntry`; the operator and the seconds
viewed are the hub's, never the caller's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from hub.contracts import Level
from hub.contracts.common import Identifier
from hub.contracts.schedule import Schedule

MIN_DWELL_S = 1  # a glance: shorter than this no operator sees anything
MAX_DWELL_S = 3600
MAX_STEPS = 200
MAX_VIEW_S = 24 * 3600  # one log entry covers at most a day of one camera on screen
Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:-]+$")]
DwellS = Annotated[int, Field(ge=MIN_DWELL_S, le=MAX_DWELL_S, description="Seconds on screen")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone, e.g. 2026-01-01T08:00:00Z")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanStep(Schema):
    """One step: a camera, or a group of cameras (every enabled camera with this tag, in id
    order). `dwell_s` overrides the plan's for this step."""

    camera_id: Identifier | None = None
    tag: Tag | None = None
    dwell_s: DwellS | None = None

    @model_validator(mode="after")
    def _one_target(self) -> PlanStep:
        if (self.camera_id is None) == (self.tag is None):
            raise ValueError("a step names either camera_id or tag (a camera group), not both")
        return self


class PlanIn(Schema):
    """A plan as written (create, or replace whole with PUT)."""

    name: str = Field(min_length=1, max_length=120)
    steps: list[PlanStep] = Field(min_length=1, max_length=MAX_STEPS)
    dwell_s: DwellS = 10
    shift: Schedule | None = Field(default=None, description="When the plan runs (always)")
    enabled: bool = True


class Stop(Schema):
    """One stop of the resolved route (what the page cycles through)."""

    camera_id: str
    name: str
    dwell_s: int


class Plan(PlanIn):
    id: str
    revision: int
    created_at: datetime
    updated_at: datetime
    route: list[Stop] = Field(description="The steps resolved against the registered cameras")
    on_shift: bool = Field(description="Inside the plan's shift now (always, without one)")


class Position(Schema):
    """Which stop is on screen for a run of the plan started at `anchor`."""

    index: int
    camera_id: str
    lap: int
    step_started_at: datetime
    next_switch_at: datetime


class ViewIn(Schema):
    """The page showed `camera_id` of `plan_id` from `started_at` to `ended_at`."""

    plan_id: Identifier
    camera_id: Identifier
    started_at: UtcDatetime
    ended_at: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ViewIn:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if (self.ended_at - self.started_at).total_seconds() > MAX_VIEW_S:
            raise ValueError(f"a view lasts at most {MAX_VIEW_S} s: write one entry per view")
        return self


class LogEntry(Schema):
    id: str
    plan_id: str
    camera_id: str
    operator: str
    started_at: datetime
    ended_at: datetime
    seconds_viewed: float
    recorded_at: datetime


class Coverage(Schema):
    """Cameras of the plan's route viewed on `day` (local midnight to midnight in `tz`)."""

    plan_id: str
    day: str
    tz: str
    planned: int
    viewed: int
    ratio: float = Field(description="viewed / planned (0 for an empty route)")
    missed: list[str] = Field(description="Route cameras nobody viewed that day")
    seconds_viewed: float


class ReportKind(StrEnum):
    """What the operator saw; the incident's kind (crowd as the crowd rule's, so both merge in
    one list filter)."""

    CROWD = "crowd_gathering"
    FIGHT = "fight"
    FIRE = "fire"
    TRAFFIC = "traffic"
    STREET_ORDER = "street_order"  # 占道经营, stalls blocking the street
    OTHER = "other"


class ReportIn(Schema):
    """Report what I see: on the view just logged (its entry is the evidence)."""

    log_entry_id: Identifier
    kind: ReportKind
    note: str = Field(default="", max_length=480)  # the audit keeps 500 with the prefix
    colour: Level | None = Field(default=None, description="Unset: the kind's default")


class ReportOut(BaseModel):
    incident_id: str
    created: bool = Field(description="False: this view was reported already (same incident)")
    log_entry_id: str
