"""The incident engine (shell): alerts become incidents, events move them, effects get performed.

Each change is `step` (pure) then one store transaction (incident, audit record, deadlines, alert
links, outbox) with compare-and-set on the version; a lost race reads again and re-applies. Only
after the commit: live pages and outbound relays are woken, responders' availability follows their
assignments, and a `Redispatch` ranks and dispatches the next candidate.

Idempotent by alert id: an alert already linked to an incident only merges its newer revision
(none once that incident closed), and an incident id is derived from the alert that opened it, so
a redelivered message (hub killed between its write and its acknowledgement) changes nothing
twice. Linking a batch is hub/incident_linking.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.alert_linking import Work, newest_per_id
from hub.contracts import Alert, GeoPoint, Level
from hub.dispatch import (
    DispatchPolicy,
    Ranking,
    Recommendation,
    SpeedProfile,
    override_reasons,
    rank,
)
from hub.grid import Grid
from hub.incident_errors import (
    IncidentNotFoundError,
    ResponderNotEligibleError,
    ResponderNotFoundError,
)
from hub.incident_linking import AlertLinker
from hub.incident_store import IncidentStore, StaleIncidentError
from hub.lifecycle import (
    Actor,
    DeadlinePolicy,
    Dispatch,
    Effect,
    Event,
    Incident,
    IncidentState,
    NotifyLeader,
    Outcome,
    Recommend,
    Redispatch,
    step,
)
from hub.lifecycle.changes import refused_responders
from hub.lifecycle.model import ACTIVE_ASSIGNMENTS
from hub.merging import MergeRule
from hub.outbox import IncidentChange
from hub.responders import ResponderRecord, ResponderStore

log = logging.getLogger("xueliang.hub.incidents")

_MAX_ATTEMPTS = 8
_NOWHERE = GeoPoint(lat=0, lon=0)
Serving = Callable[[frozenset[str]], bool]  # which responders, by the grid nodes they serve


@dataclass(frozen=True)
class EngineConfig:
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    merge: MergeRule = field(default_factory=MergeRule)
    speeds: SpeedProfile = field(default_factory=SpeedProfile)
    dispatch: DispatchPolicy = field(default_factory=DispatchPolicy)
    auto_dispatch: frozenset[Level] = frozenset()  # colours the system dispatches on suspicion


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
        policy = self.config.policy
        self._linker = AlertLinker(store, grid, self.config.merge, policy, self._change)

    def now(self) -> datetime:
        return self._clock()

    def grid_ids_of(self, record: ResponderRecord) -> frozenset[str]:
        """The grid nodes a responder serves: its own list and the grid file's."""
        return self.grid_ids_for(record.id, record.grid_ids)

    def grid_ids_for(self, responder_id: str, own: Iterable[str]) -> frozenset[str]:
        """The grid nodes a responder with this id and these nodes of its own would serve."""
        return frozenset(own) | self._memberships.get(responder_id, frozenset())

    # --- alerts ---------------------------------------------------------------------------

    async def on_alert(self, alert: Alert) -> Incident:
        """Link the alert to an incident (merging or opening one); safe to call again."""
        return (await self.on_alerts([alert]))[alert.id]

    async def on_alerts(self, alerts: Sequence[Alert]) -> dict[str, Incident]:
        """`on_alert` for a batch, in one transaction: alert id -> its incident. When another
        writer got in between, the batch is linked again one alert at a time."""
        alerts = newest_per_id(alerts)
        if not alerts:
            return {}
        for _attempt in range(1 if len(alerts) > 1 else _MAX_ATTEMPTS):
            try:
                plan, works = await self._linker.link(alerts, self.now())
                break
            except StaleIncidentError:
                continue  # another writer linked one or changed a target: look again
        else:
            if len(alerts) == 1:
                raise StaleIncidentError(f"alert {alerts[0].id}: too many concurrent changes")
            merged: dict[str, Incident] = {}
            for alert in alerts:
                merged |= await self.on_alerts([alert])
            return merged
        await self._after_commit(works.values())
        done = {incident_id: await self._auto_dispatch(work.current)
                for incident_id, work in works.items()}  # fmt: skip
        return {alert_id: done[link.incident_id] for alert_id, link in plan.items()}

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

    async def open(self, opened: Incident, event: Event) -> Outcome:
        """A new incident that no alert raised (an operator's patrol report): `opened` at
        version 0, its first `event` stepped and committed like any other change. Raises
        StaleIncidentError when an incident with that id exists already."""
        outcome = step(opened, event, self.now(), self.config.policy)
        await self._commit(outcome, opened, ())
        return outcome

    async def _commit(self, outcome: Outcome, before: Incident, links: Sequence[str]) -> None:
        """`before` is the stored version it replaces (a version-0 incident: a new one)."""
        work = Work(before if before.version else None, before, self._change)
        work.add(outcome, None)
        work.links.extend(links)
        await self.store.save_many([work.write()])
        await self._after_commit([work])

    async def _after_commit(self, works: Iterable[Work]) -> None:
        """Pages and relays hear of every change first (one live frame for the lot), then
        responders' availability follows and re-dispatches run."""
        works = [work for work in works if work.outcomes]
        if self.on_change is not None:
            for work in works:
                for outcome, change in zip(work.outcomes, work.changes, strict=True):
                    self.on_change(outcome.incident, change)
        for work in works:
            before = work.before.assignments if work.before is not None else []
            await self.responders.follow_assignments(before, work.current.assignments, self.now())
            for outcome in work.outcomes:
                for effect in outcome.effects:
                    if isinstance(effect, Redispatch) and not work.current.is_closed:
                        await self._redispatch(work.current, effect)

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
            why=_published_why(record.event, record.why), notify=notify,
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

    async def recommendations(
        self, incident: Incident, exclude: Sequence[str] = (), among: Serving | None = None
    ) -> Ranking:
        """Rank the stored responders for this incident (pure ranking); `among`, when given,
        keeps only those whose grid nodes it accepts (a scoped caller's own people)."""
        busy = [a.responder_id for a in incident.assignments if a.state in ACTIVE_ASSIGNMENTS]
        excluded = dict.fromkeys([*exclude, *refused_responders(incident)], "declined or timed out")
        excluded |= {rid: "already assigned to this incident" for rid in busy}
        people = [r.for_ranking(self._memberships.get(r.id, frozenset()))
                  for r in await self.responders.all()]  # fmt: skip
        if among is not None:
            people = [person for person in people if among(person.grid_ids)]
        cell = self.grid.nodes.get(incident.grid_cell) if self.grid and incident.grid_cell else None
        # No location (a manual report): grid membership and availability still rank.
        where = incident.location or _NOWHERE
        return rank(where, cell, (), people, self.now(), self.config.speeds,
                    policy=self.config.dispatch, exclude=excluded)  # fmt: skip

    async def dispatch_best(
        self, incident_id: str, actor: Actor, *, exclude: Sequence[str] = (), why: str = "",
        among: Serving | None = None,
    ) -> Outcome | None:  # fmt: skip
        """Dispatch the first recommendation; None when nobody can go (logged)."""
        incident = await self._get(incident_id)
        event = await self._best_dispatch(incident, actor, exclude, why, among=among)
        return None if event is None else await self.apply(incident_id, event)

    async def _best_dispatch(
        self, incident: Incident, actor: Actor, exclude: Sequence[str], why: str,
        prefer: str | None = None, among: Serving | None = None,
    ) -> Dispatch | None:  # fmt: skip
        """The first recommendation, or `prefer` (the lifecycle's next candidate) if it is one."""
        found = (await self.recommendations(incident, exclude, among)).recommendations
        if not found:
            log.warning("incident %s: no responder can be dispatched (%s)", incident.id, why)
            return None
        best = next((item for item in found if item.responder_id == prefer), found[0])
        return Dispatch(actor=actor, at=self.now(), responder_id=best.responder_id,
                        reasons=_stored_reasons(best), reason=why[:500])  # fmt: skip

    async def dispatch_chosen(
        self, incident_id: str, event: Dispatch | Recommend, among: Serving | None = None
    ) -> Outcome:
        """Dispatch (or recommend) the responder a person chose, if the ranking lets them go;
        the stored reasons are the ranking's, never the caller's. Raises
        ResponderNotFoundError (also for one `among` leaves out), or ResponderNotEligibleError
        with the ranking's reasons."""
        ranking = await self.recommendations(await self._get(incident_id), (), among)
        chosen = next((r for r in ranking.recommendations
                       if r.responder_id == event.responder_id), None)  # fmt: skip
        if chosen is None:
            refused = next((r for r in ranking.rejected if r.responder_id == event.responder_id),
                           None)  # fmt: skip
            if refused is None:  # the ranking sees every stored responder
                raise ResponderNotFoundError(event.responder_id)
            stored = override_reasons(refused, event.reason)
            if isinstance(event, Dispatch) and event.override and stored is not None:
                return await self.apply(incident_id, event.model_copy(update={"reasons": stored}))
            raise ResponderNotEligibleError(event.responder_id, [str(r) for r in refused.reasons],
                                            overridable=stored is not None)  # fmt: skip
        return await self.apply(
            incident_id, event.model_copy(update={"reasons": _stored_reasons(chosen)})
        )

    async def _redispatch(self, incident: Incident, effect: Redispatch) -> None:
        try:
            event = await self._best_dispatch(incident, Actor.system(), effect.exclude,
                                              effect.why, effect.next_candidate)  # fmt: skip
            if event is not None:
                await self.apply(incident.id, event)
        except Exception:  # logged; the incident's remaining deadlines still stand
            log.exception("incident %s: re-dispatch failed", incident.id)


def _published_why(event: str, why: str) -> str:
    """What outside systems read as the change's why: a note's text stays in the hub (operators'
    remarks may name people or hunches; SMS and app gateways only need to know one was added)."""
    return "note added" if event == "note" else why


def _stored_reasons(recommendation: Recommendation) -> list[str]:
    """A recommendation's reasons as the events keep them (at most 16 of 500 characters)."""
    return [str(reason)[:500] for reason in recommendation.reasons][:16]
