"""Video patrol, pure (no I/O, no clock): a plan's route, the camera on screen at a moment, the
plan's shift, a day's coverage and a report's default colour.

The cycle is arithmetic on whole milliseconds from an anchor (when the run, or the last manual
next/previous, began), so web/static/patrol-cycle.js computes the same stop as the hub.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

from hub.contracts import Level
from hub.contracts.schedule import Schedule, ScheduleWindow
from hub.patrol_models import PlanStep, Position, ReportKind, Stop

_MS = timedelta(milliseconds=1)
REPORT_COLOUR = {
    ReportKind.FIRE: Level.RED,
    ReportKind.FIGHT: Level.ORANGE,
    ReportKind.CROWD: Level.YELLOW,
    ReportKind.TRAFFIC: Level.YELLOW,
    ReportKind.STREET_ORDER: Level.BLUE,
    ReportKind.OTHER: Level.BLUE,
}


@dataclass(frozen=True)
class CameraInfo:
    """What a route needs of a registered camera."""

    id: str
    name: str
    tags: tuple[str, ...]
    enabled: bool


def resolve_route(
    steps: Sequence[PlanStep], dwell_s: int, cameras: Iterable[CameraInfo]
) -> list[Stop]:
    """The stops in plan order: a camera step as it is, a tag as its enabled cameras in id order.
    Removed or disabled cameras are left out (the plan keeps naming them); a camera may appear
    twice on purpose (a key place watched more often)."""
    known = {camera.id: camera for camera in cameras if camera.enabled}
    stops: list[Stop] = []
    for step in steps:
        dwell = step.dwell_s or dwell_s
        if step.camera_id is not None:
            targets = [known[step.camera_id]] if step.camera_id in known else []
        else:
            targets = sorted((c for c in known.values() if step.tag in c.tags), key=_by_id)
        stops += [Stop(camera_id=c.id, name=c.name or c.id, dwell_s=dwell) for c in targets]
    return stops


def _by_id(camera: CameraInfo) -> str:
    return camera.id


def position(route: Sequence[Stop], anchor: datetime, now: datetime) -> Position | None:
    """The stop on screen at `now` for a run anchored at `anchor` (None: an empty route).
    Before the anchor, the first stop waits for it."""
    if not route:
        return None
    lap_ms = sum(stop.dwell_s for stop in route) * 1000
    elapsed_ms = max(0, (now - anchor) // _MS)
    lap, into_ms = divmod(elapsed_ms, lap_ms)
    start_ms = 0
    for index, stop in enumerate(route):
        end_ms = start_ms + stop.dwell_s * 1000
        if into_ms < end_ms:
            started = anchor + (lap * lap_ms + start_ms) * _MS
            return Position(
                index=index, camera_id=stop.camera_id, lap=lap, step_started_at=started,
                next_switch_at=started + stop.dwell_s * 1000 * _MS,
            )  # fmt: skip
        start_ms = end_ms
    raise AssertionError("unreachable: into_ms < lap_ms")


def anchor_for(route: Sequence[Stop], index: int, now: datetime) -> datetime:
    """The anchor that puts stop `index` (any integer: it wraps) on screen from `now` on: how
    next and previous move a run without leaving the arithmetic."""
    wrapped = index % len(route)
    return now - sum(stop.dwell_s for stop in route[:wrapped]) * 1000 * _MS


def on_shift(shift: Schedule | None, at: datetime) -> bool:
    """Inside one of the shift's windows (local time of its timezone); always without one."""
    if shift is None:
        return True
    local = at.astimezone(ZoneInfo(shift.timezone))
    return any(_in_window(window, local) for window in shift.windows)


def _in_window(window: ScheduleWindow, local: datetime) -> bool:
    start, end, now = _hh_mm(window.start), _hh_mm(window.end), local.time()
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if start == end:
        return today in window.days
    if start < end:
        return today in window.days and start <= now < end
    # Past midnight: the evening belongs to today's window, the early morning to yesterday's.
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


def _hh_mm(text: str) -> day_time:
    hours, minutes = text.split(":")
    return day_time(int(hours), int(minutes))


@dataclass(frozen=True)
class Viewed:
    camera_id: str
    seconds_viewed: float


@dataclass(frozen=True)
class CoverageFigure:
    planned: int
    viewed: int
    ratio: float
    missed: list[str]
    seconds_viewed: float


def coverage(route: Sequence[Stop], views: Iterable[Viewed]) -> CoverageFigure:
    """Distinct route cameras viewed / distinct route cameras; views of cameras no longer on the
    route count for neither (nor for the seconds)."""
    planned = list(dict.fromkeys(stop.camera_id for stop in route))
    on_route = set(planned)
    seen: set[str] = set()
    seconds = 0.0
    for view in views:
        if view.camera_id in on_route and view.seconds_viewed > 0:
            seen.add(view.camera_id)
            seconds += view.seconds_viewed
    ratio = len(seen) / len(planned) if planned else 0.0
    missed = [camera_id for camera_id in planned if camera_id not in seen]
    return CoverageFigure(len(planned), len(seen), round(ratio, 4), missed, round(seconds, 3))


def report_colour(kind: ReportKind, chosen: Level | None) -> Level:
    return chosen if chosen is not None else REPORT_COLOUR[kind]
