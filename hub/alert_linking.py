"""Which incident each alert of a batch goes to (pure), and the changes made to one incident
while a batch is applied.

An alert linked already goes back to its incident (only a newer revision changes it); a new one
joins the best open candidate (`merge_target`), counting incidents that earlier alerts of the
same batch opened, or opens its own. The engine reads the candidates in one query, the chosen
incidents' bodies in another, and writes every `Work` in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.contracts import Alert, GeoPoint
from hub.incident_store import IncidentWrite
from hub.lifecycle import Incident, Outcome
from hub.merging import MergeCandidate, MergeRule, merge_target, tile_of, tiles_near
from hub.outbox import IncidentChange


@dataclass(frozen=True)
class Link:
    incident_id: str
    opens: bool  # a new incident, opened by this alert
    new_link: bool  # not linked to it yet


def newest_per_id(alerts: Sequence[Alert]) -> list[Alert]:
    """Each alert id once, its highest revision, in the order the ids first came."""
    newest: dict[str, Alert] = {}
    for alert in alerts:
        kept = newest.get(alert.id)
        if kept is None or alert.revision > kept.revision:
            newest[alert.id] = alert
    return list(newest.values())


def plan_links(
    alerts: Sequence[Alert],
    linked: Mapping[str, str],
    candidates: Sequence[MergeCandidate],
    cells: Mapping[str, str | None],
    new_id: Callable[[str], str],
    now: datetime,
    rule: MergeRule,
) -> dict[str, Link]:
    """Alert id -> where it goes. `linked`: alert id -> incident, for those linked already;
    `cells`: alert id -> the alert's grid cell as the hub decides it."""
    plan: dict[str, Link] = {}
    pool = _Pool(candidates)
    for alert in alerts:
        if alert.id in linked:
            plan[alert.id] = Link(linked[alert.id], opens=False, new_link=False)
            continue
        cell = cells[alert.id]
        kind = alert.kind.value
        near = pool.near(cell, alert.location, rule.radius_m)
        target = merge_target(kind, alert.location, cell, now, near, rule)
        if target is not None:
            plan[alert.id] = Link(target.id, opens=False, new_link=True)
            continue
        opened = new_id(alert.id)
        plan[alert.id] = Link(opened, opens=True, new_link=True)
        pool.add(MergeCandidate(opened, kind, cell, alert.location, now))
    return plan


class _Pool:
    """Candidates by cell and by tile: an alert looks only at those that can match it."""

    def __init__(self, candidates: Sequence[MergeCandidate]) -> None:
        self._by_cell: dict[str, list[MergeCandidate]] = defaultdict(list)
        self._by_tile: dict[str, list[MergeCandidate]] = defaultdict(list)
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: MergeCandidate) -> None:
        if candidate.grid_cell is not None:
            self._by_cell[candidate.grid_cell].append(candidate)
        if candidate.location is not None:
            where = candidate.location
            self._by_tile[tile_of(where.lat, where.lon)].append(candidate)

    def near(self, cell: str | None, where: GeoPoint, radius_m: float) -> list[MergeCandidate]:
        found = {c.id: c for c in self._by_cell.get(cell, [])} if cell is not None else {}
        for tile in tiles_near(where, radius_m):
            found |= {c.id: c for c in self._by_tile.get(tile, [])}
        return list(found.values())


def taken_elsewhere(
    openers: Sequence[Alert],
    cells: Mapping[str, str | None],
    others: Sequence[MergeCandidate],
    now: datetime,
    rule: MergeRule,
) -> str | None:
    """The id of an incident among `others` (written by someone else since the plan was made)
    that one of `openers`, the alerts the plan opened incidents for, would join: the plan is
    out of date. None: it still holds."""
    pool = _Pool(others)  # each opener looks only at those that can match it, as in the plan
    for alert in openers:
        cell = cells[alert.id]
        near = pool.near(cell, alert.location, rule.radius_m)
        found = merge_target(alert.kind.value, alert.location, cell, now, near, rule)
        if found is not None:
            return found.id
    return None


@dataclass
class Work:
    """One incident through a batch: as stored before (None: opened in the batch), as it is
    now, and what changed it, each change described once (`describe`) for the outbox and for
    the hooks that run after the commit."""

    before: Incident | None
    current: Incident
    describe: Callable[[Outcome], IncidentChange]
    outcomes: list[Outcome] = field(default_factory=list)
    changes: list[IncidentChange] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome, link: str | None) -> None:
        if outcome.changed:
            self.outcomes.append(outcome)
            self.changes.append(self.describe(outcome))
            self.current = outcome.incident
        if link is not None:
            self.links.append(link)

    @property
    def dirty(self) -> bool:
        return bool(self.outcomes or self.links)

    def write(self) -> IncidentWrite:
        previous = None if self.before is None else self.before.version
        audit = [record for outcome in self.outcomes for record in outcome.audit]
        moved = self.before is None or self.before.deadlines != self.current.deadlines
        return IncidentWrite(self.current, previous, audit, self.changes, self.links, moved)
