"""The incident engine (shell): alerts become incidents, events move them, effects get performed.

Each change is `step` (pure) then one store transaction (incident, audit record, deadlines, alert
links, outbox) with compare-and-set on the version; a lost race reads again and re-applies. Only
after the commit: live pages and outbound relays are woken, responders' availability follows their
assignments, and a `Redispatch` ranks and dispatches the next candidate.

Idempotent by alert id: an alert already linked to an incident only merges its newer revision
(none once that incident closed), and an incident id is derived from the alert that opened it, so
a redelivered message (hub killed between its write and its acknowledgement) changes nothing
twice. The hub's grid, when it has one, decides an alert's cell.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.contracts import Alert, GeoPoint, Level
from hub.dispatch import DispatchPolicy, Ranking, SpeedProfile, rank
from hub.grid import Grid
from hub.incident_store import IncidentStore, StaleIncidentError
from hub.lifecycle import (
    Actor,
    DeadlinePolicy,
    Dispatch,
    Effect,
    Event,
    Incident,
    IncidentState,
    LifecycleError,
    MergeAlert,
    NotifyLeader,
    Outcome,
    Queue,
    Redispatch,
    open_incident,
    step,
)
from hub.lifecycle.changes import refused_responders
from hub.lifecycle.model import ACTIVE_ASSIGNMENTS
from hub.merging import MergeRule, merge_target
from hub.outbox import IncidentChange
from hub.responders import ResponderStore

log = logging.getLogger("xueliang.hub.incidents")

_INCIDENT_NAMESPACE = uuid.UUID("5d7f0c52-3c1e-4f5b-9a53-6b1f3f0b7c21")
_MAX_ATTEMPTS = 8
_NOWHERE = GeoPoint(lat=0, lon=0)


class IncidentNotFoundError(Exception):
    pass


@dataclass(frozen=True)
class EngineConfig:
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    merge: MergeRule = field(default_factory=MergeRule)
    speeds: SpeedProfile = field(default_factory=SpeedProfile)
    dispatch: DispatchPolicy = field(default_factory=DispatchPolicy)
    auto_dispatch: frozenset[Level] = frozenset()  # colours the system dispatches on suspicion


def incident_id_for(alert_id: str) -> str:
    return str(uuid.uuid5(_INCIDENT_NAMESPACE, alert_id))


def _now() -> datetime:
    return datetime.now(UTC)


class IncidentEngine:
    def __init__(
        self,
        store: IncidentStore,
        responders: ResponderStore,
        *,
        grid: Grid | None = None,
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = _now,
        on_change: Callable[[Incident, IncidentChange], None] | None = None,
    ) -> None:
        self.store = store
        self.responders = responders
        self.grid = grid
        self.config = config or EngineConfig()
        self._clock = clock
        self.on_change = on_change
        self._memberships = grid.memberships() if grid else {}

    def now(self) -> datetime:
        return self._clock()

    # --- alerts ---------------------------------------------------------------------------

    async def on_alert(self, alert: Alert) -> Incident:
        """Link the alert to an incident (merging or opening one); safe to call again."""
        for _attempt in range(_MAX_ATTEMPTS):
            try:
                incident = await self._link(alert)
            except StaleIncidentError:
                continue  # another writer linked it or changed the target: look again
            return await self._auto_dispatch(incident)
        raise StaleIncidentError(f"alert {alert.id}: too many concurrent changes")

    async def _link(self, alert: Alert) -> Incident:
        linked = await self.store.incident_of_alert(alert.id)
        if linked is not None:
            return await self._merge(linked, alert, link=False)
        now = self.now()
        cell = self._cell(alert)
        since = now - timedelta(seconds=self.config.merge.window_s)
        candidates = await self.store.open_incidents(alert.kind.value, since)
        target = merge_target(
            alert.kind.value, alert.location, cell, now, candidates, self.config.merge
        )
        if target is not None:
            return await self._merge(target.id, alert, link=True)
        return await self._open(alert, cell, now)

    async def _open(self, alert: Alert, cell: str | None, now: datetime) -> Incident:
        place = self.grid.place_at(alert.location.lat, alert.location.lon) if self.grid else None
        ring = place.ring_min if place and place.ring_min in (1, 3, 5) else None
        opened = open_incident(
            incident_id_for(alert.id), kind=alert.kind.value, colour=alert.level, at=now,
            ring_min=ring, grid_cell=cell, alert_id=alert.id, location=alert.location,  # type: ignore[arg-type]
        )  # fmt: skip
        opened = opened.model_copy(update={"alerts": {alert.id: alert.revision}})
        outcome = step(opened, Queue(actor=Actor.system(), at=now), now, self.config.policy)
        await self._commit(outcome, opened, [alert.id])
        return outcome.incident

    async def _merge(self, incident_id: str, alert: Alert, *, link: bool) -> Incident:
        now = self.now()
        event = MergeAlert(
            actor=Actor.system(), at=now, alert_id=alert.id, revision=alert.revision,
            colour=alert.level,
        )  # fmt: skip
        try:
            outcome = await self._apply_once(incident_id, event, now, [alert.id] * link)
        except LifecycleError:
            current = await self.store.get(incident_id)
            if current is None or not current.is_closed:
                raise
            if link:  # it closed after it was chosen: choose again
                raise StaleIncidentError(f"incident {incident_id} closed") from None
            # A closed incident takes no more reports (kept in the alert store); a person reopens.
            return current
        return outcome.incident

    def _cell(self, alert: Alert) -> str | None:
        if self.grid is None or alert.grid_cell in self.grid.nodes:
            return alert.grid_cell
        node = self.grid.cell_at(alert.location.lat, alert.location.lon)
        return alert.grid_cell if node is None else node.id

    async def _auto_dispatch(self, incident: Incident) -> Incident:
        """Colours configured for it are dispatched on suspicion, once per incident: the
        dispatch is compare-and-set on the version that had no assignment ticket yet."""
        for _attempt in range(_MAX_ATTEMPTS):
            if (
                incident.colour not in self.config.auto_dispatch
                or incident.assignment_issued_at is not None
                or incident.state is not IncidentState.PENDING_REVIEW
            ):
                return incident
            event = await self._best_dispatch(incident, Actor.system(), (), "auto-dispatch")
            if event is None:
                return incident
            outcome = step(incident, event, self.now(), self.config.policy)
            try:
                await self._commit(outcome, incident, ())
                return outcome.incident
            except StaleIncidentError:
                incident = await self._get(incident.id)
        return incident  # the alert is linked; dispatch is left to the operators

    # --- events ---------------------------------------------------------------------------

    async def _get(self, incident_id: str) -> Incident:
        found = await self.store.get(incident_id)
        if found is None:
            raise IncidentNotFoundError(incident_id)
        return found

    async def apply(self, incident_id: str, event: Event) -> Outcome:
        """Apply one event, retrying on a concurrent change. Raises IncidentNotFoundError or
        the lifecycle's InvalidTransitionError."""
        for _attempt in range(_MAX_ATTEMPTS):
            try:
                return await self._apply_once(incident_id, event, self.now())
            except StaleIncidentError:
                continue
        raise StaleIncidentError(f"incident {incident_id}: too many concurrent changes")

    async def _apply_once(
        self, incident_id: str, event: Event, now: datetime, link_alerts: Sequence[str] = ()
    ) -> Outcome:
        incident = await self._get(incident_id)
        outcome = step(incident, event, now, self.config.policy)
        if not outcome.changed and not link_alerts:
            return outcome
        await self._commit(outcome, incident, link_alerts)
        return outcome

    async def _commit(self, outcome: Outcome, before: Incident, links: Sequence[str]) -> None:
        """`before` is the stored version it replaces (a version-0 incident: a new one)."""
        changes = [self._change(outcome)] if outcome.changed else []
        await self.store.save(
            outcome, previous_version=before.version or None, changes=changes, link_alerts=links
        )
        if not changes:
            return
        if self.on_change is not None:
            self.on_change(outcome.incident, changes[0])
        await self.responders.follow_assignments(
            before.assignments, outcome.incident.assignments, self.now()
        )
        for effect in outcome.effects:
            if isinstance(effect, Redispatch) and not outcome.incident.is_closed:
                await self._redispatch(outcome.incident, effect)

    def _change(self, outcome: Outcome) -> IncidentChange:
        incident, record = outcome.incident, outcome.audit[0]
        notify = [self._addressed(incident.grid_cell, effect) for effect in outcome.effects]
        return IncidentChange(
            incident_id=incident.id, version=incident.version, at=record.at, event=record.event,
            actor_id=record.actor.id, state=incident.state.value, colour=incident.colour,
            gb_priority=incident.colour.gb_priority, kind=incident.kind,
            grid_cell=incident.grid_cell, location=incident.location,
            responder_id=record.responder_id,
            assignment_state=record.assignment_to.value if record.assignment_to else None,
            why=record.why, notify=notify,
        )  # fmt: skip

    def _addressed(self, cell: str | None, effect: Effect) -> dict[str, Any]:
        """An effect as published. A leader notification names the person: the leader of the
        incident's grid node at that level (or the nearest level above that has one)."""
        body: dict[str, Any] = effect.model_dump(mode="json")
        if isinstance(effect, NotifyLeader):
            node = self.grid.nodes.get(cell) if self.grid and cell else None
            depth = effect.grid_level.depth
            while node is not None and (node.level.depth > depth or node.leader is None):
                node = node.parent
            body["leader_id"] = node.leader if node else None
            body["grid_node"] = node.id if node else None
        return body

    # --- dispatch -------------------------------------------------------------------------

    async def recommendations(self, incident: Incident, exclude: Sequence[str] = ()) -> Ranking:
        """Rank every responder for this incident (pure ranking over the stored responders)."""
        busy = [a.responder_id for a in incident.assignments if a.state in ACTIVE_ASSIGNMENTS]
        excluded = dict.fromkeys([*exclude, *refused_responders(incident)], "declined or timed out")
        excluded |= {rid: "already assigned to this incident" for rid in busy}
        people = [r.for_ranking(self._memberships.get(r.id, frozenset()))
                  for r in await self.responders.all()]  # fmt: skip
        cell = self.grid.nodes.get(incident.grid_cell) if self.grid and incident.grid_cell else None
        # No location (a manual report): grid membership and availability still rank.
        where = incident.location or _NOWHERE
        return rank(where, cell, (), people, self.now(), self.config.speeds,
                    policy=self.config.dispatch, exclude=excluded)  # fmt: skip

    async def dispatch_best(
        self, incident_id: str, actor: Actor, *, exclude: Sequence[str] = (), why: str = ""
    ) -> Outcome | None:
        """Dispatch the first recommendation; None when nobody can go (logged)."""
        incident = await self._get(incident_id)
        event = await self._best_dispatch(incident, actor, exclude, why)
        return None if event is None else await self.apply(incident_id, event)

    async def _best_dispatch(self, incident: Incident, actor: Actor, exclude: Sequence[str],
                             why: str, prefer: str | None = None) -> Dispatch | None:  # fmt: skip
        """The first recommendation, or `prefer` (the lifecycle's next candidate) if it is one."""
        found = (await self.recommendations(incident, exclude)).recommendations
        if not found:
            log.warning("incident %s: no responder can be dispatched (%s)", incident.id, why)
            return None
        best = next((item for item in found if item.responder_id == prefer), found[0])
        reasons = [str(reason)[:500] for reason in best.reasons][:16]
        return Dispatch(actor=actor, at=self.now(), responder_id=best.responder_id,
                        reasons=reasons, reason=why[:500])  # fmt: skip

    async def _redispatch(self, incident: Incident, effect: Redispatch) -> None:
        try:
            event = await self._best_dispatch(incident, Actor.system(), effect.exclude,
                                              effect.why, effect.next_candidate)  # fmt: skip
            if event is not None:
                await self.apply(incident.id, event)
        except Exception:  # logged; the incident's remaining deadlines still stand
            log.exception("incident %s: re-dispatch failed", incident.id)
