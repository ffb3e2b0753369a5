"""Deadlines as configuration: per colour (the reference's SLA matrix, 7.4) and per place ring.

`duration_s` and `make_deadline` are pure; the machine asks them whenever an event starts a timer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, model_validator

from hub.contracts import Level
from hub.lifecycle.model import Deadline, DeadlineKind, GridLevel, Incident, Value

_MONTH_S = 31 * 86_400.0


def _limit(default_s: float, description: str) -> float:
    return Field(default=default_s, gt=0, le=_MONTH_S, description=description)


class ColourDeadlines(Value):
    """Seconds allowed for each step of an incident of one colour."""

    claim_s: float = _limit(120, "Alert raised -> claimed by an operator")
    verify_s: float = _limit(180, "Claimed -> confirmed or marked false")
    dispatch_s: float = _limit(120, "Confirmed -> first responder notified")
    acknowledge_s: float = _limit(120, "Notified -> responder accepts (each assignment)")
    arrive_s: float = _limit(900, "First acknowledgement -> first on scene (no ring)")
    handle_s: float = _limit(1800, "First on scene -> situation handled (a responder clears)")
    feedback_s: float = _limit(3600, "First on scene -> feedback submitted")
    check_s: float = _limit(3600, "Feedback submitted -> check passed")
    close_s: float = _limit(86_400, "Alert raised -> closed (按期结案)")
    supervision_s: float = _limit(1800, "Supervision ticket issued or climbed -> its deadline")
    auto_dispatch_on_verify_miss: bool = Field(
        default=False, description="Dispatch on suspicion when the verify deadline passes"
    )


class SupervisionStart(Value):
    """Where the 督办 ladder starts for an incident colour, and how fast its colour climbs."""

    colour: Level = Level.YELLOW
    responsible_level: GridLevel = GridLevel.COMMUNITY
    colour_steps: int = Field(default=1, ge=1, le=3, description="Colour steps per further miss")


_RED = ColourDeadlines(
    claim_s=30, verify_s=60, dispatch_s=30, acknowledge_s=30, arrive_s=300, handle_s=900,
    feedback_s=1800, check_s=900, close_s=4 * 3600, supervision_s=600,
    auto_dispatch_on_verify_miss=True,
)
_ORANGE_YELLOW = ColourDeadlines()
_BLUE = ColourDeadlines(
    claim_s=600, verify_s=1200, dispatch_s=600, acknowledge_s=1800, arrive_s=8 * 3600,
    handle_s=3600, feedback_s=7200, check_s=3600, close_s=3 * 86_400, supervision_s=3600,
)


_COLOUR_DEFAULTS = {"red": _RED, "orange": _ORANGE_YELLOW, "yellow": _ORANGE_YELLOW, "blue": _BLUE}


def _default_starts() -> dict[Level, SupervisionStart]:
    # Red: yellow 督办 to the township first, red to the county on the next miss (7.4).
    red = SupervisionStart(responsible_level=GridLevel.STREET, colour_steps=2)
    starts: dict[Level, SupervisionStart] = {colour: SupervisionStart() for colour in Level}
    return starts | {Level.RED: red}


class DeadlinePolicy(Value):
    red: ColourDeadlines = _RED
    orange: ColourDeadlines = _ORANGE_YELLOW
    yellow: ColourDeadlines = _ORANGE_YELLOW
    blue: ColourDeadlines = _BLUE
    ring_arrive_s: dict[int, float] = Field(
        default_factory=lambda: {1: 60.0, 3: 180.0, 5: 300.0},
        description="Arrival deadline inside a place's 1/3/5-minute ring",
    )
    rings_apply_to: list[Level] = Field(
        default_factory=lambda: [Level.RED, Level.ORANGE, Level.YELLOW],
        description="Colours whose arrival deadline a ring overrides (blue keeps its own)",
    )
    supervision_starts: dict[Level, SupervisionStart] = Field(default_factory=_default_starts)
    ack_misses_per_escalation: int = Field(
        default=2, ge=1, le=10, description="Missed acknowledgements before the next grid level"
    )
    reopen_window_s: float = Field(
        default=86_400, ge=0, le=_MONTH_S, description="The system reopens within this window"
    )

    @model_validator(mode="before")
    @classmethod
    def _over_colour_defaults(cls, data: Any) -> Any:
        """A partial colour (`{"red": {"claim_s": 15}}`) keeps that colour's other defaults."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, defaults in _COLOUR_DEFAULTS.items():
            if isinstance(data.get(name), dict):
                merged[name] = defaults.model_dump() | data[name]
        return merged

    @model_validator(mode="after")
    def _complete(self) -> DeadlinePolicy:
        if set(self.supervision_starts) != set(Level):
            raise ValueError("supervision_starts needs one entry per colour")
        if not set(self.ring_arrive_s) <= {1, 3, 5}:
            raise ValueError("rings are 1, 3 or 5 minutes")
        return self

    def limits(self, colour: Level) -> ColourDeadlines:
        by_colour = {Level.RED: self.red, Level.ORANGE: self.orange, Level.YELLOW: self.yellow}
        return by_colour.get(colour, self.blue)


def duration_s(
    policy: DeadlinePolicy, kind: DeadlineKind, colour: Level, ring_min: int | None
) -> float:
    """Seconds allowed for `kind` at `colour`; a ring overrides arrival for the ring colours."""
    if kind is DeadlineKind.ARRIVE and colour in policy.rings_apply_to:
        ring_s = policy.ring_arrive_s.get(ring_min or 0)
        if ring_s is not None:
            return ring_s
    return float(getattr(policy.limits(colour), f"{kind.value}_s"))


def make_deadline(
    policy: DeadlinePolicy,
    incident: Incident,
    kind: DeadlineKind,
    start: datetime,
    subject: str | None = None,
) -> Deadline:
    seconds = duration_s(policy, kind, incident.colour, incident.ring_min)
    return Deadline(
        kind=kind, subject=subject, started_at=start, due_at=start + timedelta(seconds=seconds)
    )
