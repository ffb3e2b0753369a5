"""Linking a batch of alerts to incidents (shell): one read of what they are linked to beside one
of the merge candidates, one of the chosen incidents' bodies, then one transaction for every
change.

An incident id is derived from the alert that opened it, so a redelivered batch finds the same
incidents. The hub's grid, when it has one, decides an alert's cell. A lost race raises
`StaleIncidentError`: a target changed (compare-and-set) or, for an alert that opens an incident,
another writer opened one at the same place meanwhile (`hub.merge_candidates.OpenGuard`); the
engine decides whether to try again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from hub.alert_linking import Link, Work, plan_links, taken_elsewhere
from hub.contracts import Alert
from hub.grid import Grid
from hub.incident_store import IncidentStore, StaleIncidentError
from hub.lifecycle import (
    Actor,
    DeadlinePolicy,
    LifecycleError,
    MergeAlert,
    Outcome,
    Queue,
    open_incident,
    step,
)
from hub.merge_candidates import CandidateQuery, OpenGuard
from hub.merging import MergeCandidate, MergeRule, tiles_near
from hub.outbox import IncidentChange
from hub.recent_incidents import RecentIncidents

_INCIDENT_NAMESPACE = uuid.UUID("5d7f0c52-3c1e-4f5b-9a53-6b1f3f0b7c21")


def incident_id_for(alert_id: str) -> str:
    return str(uuid.uuid5(_INCIDENT_NAMESPACE, alert_id))


class AlertLinker:
    def __init__(
        self,
        store: IncidentStore,
        grid: Grid | None,
        merge: MergeRule,
        policy: DeadlinePolicy,
        change: Callable[[Outcome], IncidentChange],
    ) -> None:
        self.store = store
        self.grid = grid
        self.merge = merge
        self.policy = policy
        self._change = change
        self._recent = RecentIncidents()  # bodies of the incidents linking wrote last

    async def link(
        self, alerts: Sequence[Alert], now: datetime
    ) -> tuple[dict[str, Link], dict[str, Work]]:
        """Alert id -> its link, and incident id -> what changed; committed when it returns."""
        cells = {alert.id: self.cell_of(alert) for alert in alerts}  # may search the grid
        # Side by side, on two connections: what the alerts are linked to (only a redelivery
        # finds any) and the candidates near all of them (those of linked alerts go unused).
        linked, candidates = await asyncio.gather(
            self.store.incidents_of_alerts([alert.id for alert in alerts]),
            self._candidates(alerts, cells, now),
        )
        plan = plan_links(alerts, linked, candidates, cells, incident_id_for, now, self.merge)
        stored = {link.incident_id for link in plan.values() if not link.opens}
        versions = {candidate.id: candidate.version for candidate in candidates}
        bodies = self._recent.current({i: versions.get(i) for i in stored})
        unread = sorted(stored - bodies.keys())
        bodies |= {i.id: i for i in await self.store.incidents_by_id(unread)}
        works: dict[str, Work] = {}
        for alert in alerts:
            link = plan[alert.id]
            work = works.get(link.incident_id)
            if work is None and link.opens:
                work = works[link.incident_id] = self._opened(alert, cells[alert.id], now)
                continue
            if work is None:
                if link.incident_id not in bodies:  # deleted or a lost race: choose again
                    raise StaleIncidentError(f"incident {link.incident_id} is gone")
                found = bodies[link.incident_id]
                work = works[link.incident_id] = Work(found, found, self._change)
            self._merge(work, alert, now, link)
        openers = [alert for alert in alerts if plan[alert.id].opens]
        guard = self._guard(openers, cells, now) if openers else None
        await self.store.save_many([w.write() for w in works.values() if w.dirty], guard)
        self._recent.remember(work.current for work in works.values())
        return plan, works

    def cell_of(self, alert: Alert) -> str | None:
        if self.grid is None or alert.grid_cell in self.grid.nodes:
            return alert.grid_cell
        node = self.grid.cell_at(alert.location.lat, alert.location.lon)
        return alert.grid_cell if node is None else node.id

    async def _candidates(
        self, alerts: Sequence[Alert], cells: Mapping[str, str | None], now: datetime
    ) -> list[MergeCandidate]:
        if not alerts:
            return []
        return await self.store.merge_candidates(self._query(alerts, cells, now))

    def _query(
        self, alerts: Sequence[Alert], cells: Mapping[str, str | None], now: datetime
    ) -> CandidateQuery:
        since = now - timedelta(seconds=self.merge.window_s)
        kinds = sorted({alert.kind.value for alert in alerts})
        in_cells = {cell for alert in alerts if (cell := cells[alert.id]) is not None}
        radius_m = self.merge.radius_m
        tiles = {tile for alert in alerts for tile in tiles_near(alert.location, radius_m)}
        return CandidateQuery(kinds, since, in_cells, tiles)

    def _guard(
        self, openers: Sequence[Alert], cells: Mapping[str, str | None], now: datetime
    ) -> OpenGuard:
        """Another writer may open an incident where `openers` opened theirs meanwhile."""
        return OpenGuard(
            self._query(openers, cells, now),
            lambda others: taken_elsewhere(openers, cells, others, now, self.merge),
        )

    def _opened(self, alert: Alert, cell: str | None, now: datetime) -> Work:
        place = self.grid.place_at(alert.location.lat, alert.location.lon) if self.grid else None
        ring = place.ring_min if place and place.ring_min in (1, 3, 5) else None
        opened = open_incident(
            incident_id_for(alert.id), kind=alert.kind.value, colour=alert.level, at=now,
            ring_min=ring, grid_cell=cell, alert_id=alert.id, location=alert.location,  # type: ignore[arg-type]
        )  # fmt: skip
        opened = opened.model_copy(update={"alerts": {alert.id: alert.revision}})
        work = Work(None, opened, self._change)
        work.add(step(opened, Queue(actor=Actor.system(), at=now), now, self.policy), alert.id)
        return work

    def _merge(self, work: Work, alert: Alert, now: datetime, link: Link) -> None:
        event = MergeAlert(
            actor=Actor.system(), at=now, alert_id=alert.id, revision=alert.revision,
            colour=alert.level,
        )  # fmt: skip
        try:
            outcome = step(work.current, event, now, self.policy)
        except LifecycleError:
            if not work.current.is_closed:
                raise
            if link.new_link:  # it closed after it was chosen: choose again
                raise StaleIncidentError(f"incident {work.current.id} closed") from None
            # A closed incident takes no more reports (kept in the alert store); a person reopens.
            return
        work.add(outcome, alert.id if link.new_link else None)
