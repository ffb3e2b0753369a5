"""Incident, responder and dispatch routes: thin, every change goes through the engine.

Who may do what is hub/access.py's table: admins and operators act on incidents and manage
responders, viewers read; a responder (a responder user, or a responder's own token issued at
registration) acts only on their own assignments and their own position and availability. A
caller scoped to part of the grid sees and acts on only the incidents of its cells; any other
answers 404, like an unknown id. Events are posted as `{"type": ..., ...}`; the hub adds who and
when, so nobody can write an event in someone else's name or at another time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.access import Perm, Principal, in_scope, narrowed, serves_scope, within_scope
from hub.access_deps import (  # re-exported ("X as X"): the map and patrol routes import here
    Caller as Caller,
)
from hub.access_deps import Me, Operator
from hub.access_deps import Who as Who
from hub.access_deps import actor_of as actor_of
from hub.access_deps import current_actor as current_actor
from hub.access_deps import current_caller as current_caller
from hub.access_deps import visible_cells as visible_cells
from hub.contracts import Level
from hub.dispatch import Availability, Ranking, override_reasons
from hub.incident_errors import (
    IncidentNotFoundError,
    ResponderNotEligibleError,
    ResponderNotFoundError,
)
from hub.incidents import IncidentEngine, Serving
from hub.lifecycle import (
    EVENT_ADAPTER,
    Actor,
    AuditRecord,
    Dispatch,
    Incident,
    IncidentState,
    Recommend,
    Role,
)
from hub.lifecycle.errors import LifecycleError
from hub.responders import (
    ResponderCreate,
    ResponderExistsError,
    ResponderPosition,
    ResponderRecord,
)
from hub.validation import public_errors

IncidentId = Annotated[str, Path(min_length=1, max_length=64)]
OPERATOR_EVENTS = frozenset({
    "claim", "verify", "mark_false", "raise_colour", "lower_colour", "issue_warning",
    "recommend", "dispatch", "start_check", "approve", "reject_feedback", "close", "reopen",
    "note",
})  # fmt: skip
RESPONDER_EVENTS = frozenset(
    {"acknowledge", "decline", "depart", "arrive", "clear", "submit_feedback"}
)


class NewResponder(BaseModel):
    """Shown once: the token the responder's phone uses."""

    responder: ResponderRecord
    token: str


class AvailabilityChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    availability: Availability


class RecommendationOut(BaseModel):
    responder_id: str
    rank: int
    tier: int
    eta_s: float
    distance_m: float | None
    missing_skills: list[str]
    reasons: list[str]


class RejectionOut(BaseModel):
    responder_id: str
    reasons: list[str]
    overridable: bool = Field(description="An operator may dispatch with override and a reason")


class RecommendationsOut(BaseModel):
    recommendations: list[RecommendationOut]
    rejected: list[RejectionOut]


class IncidentPage(BaseModel):
    incidents: list[Incident]


def _ranking_out(ranking: Ranking) -> RecommendationsOut:
    return RecommendationsOut(
        recommendations=[
            RecommendationOut(
                responder_id=r.responder_id, rank=r.rank, tier=r.tier, eta_s=r.eta_s,
                distance_m=r.distance_m, missing_skills=list(r.missing_skills),
                reasons=[str(reason) for reason in r.reasons],
            )
            for r in ranking.recommendations
        ],
        rejected=[RejectionOut(responder_id=r.responder_id, reasons=[str(x) for x in r.reasons],
                               overridable=override_reasons(r, "") is not None)
                  for r in ranking.rejected],
    )  # fmt: skip


_HOLDING = frozenset({"notified", "acknowledged", "en_route", "on_scene"})


def add_incident_routes(app: FastAPI, engine: IncidentEngine) -> None:
    app.state.incidents = engine

    def among(who: Principal) -> Serving | None:
        """The responders a caller may see, rank and dispatch: those serving its scope."""
        if who.scope is None:
            return None
        return lambda grid_ids: serves_scope(engine.grid, who.scope, grid_ids)

    def sees(who: Principal, responder: ResponderRecord) -> bool:
        """Whether the caller may see this responder: `among`, for one."""
        serving = among(who)
        return serving is None or serving(engine.grid_ids_of(responder))

    def readers_only(who: Principal) -> None:
        if not who.may(Perm.READ):  # past current_caller: a responder
            raise HTTPException(403, "responders may act on their own assignments only")

    async def visible(incident_id: str, who: Principal, request: Request) -> Incident:
        """A responder sees only incidents they were assigned to, a scoped caller only those
        of its cells; others answer 404."""
        incident = await engine.store.get(incident_id)
        actor = actor_of(who)
        if incident is None or not in_scope(visible_cells(request, who), incident.grid_cell):
            raise HTTPException(404, "no such incident")
        if actor.role is Role.RESPONDER and incident.assignment(actor.id) is None:
            raise HTTPException(404, "no such incident")
        return incident

    @app.get("/api/incidents")
    async def list_incidents(
        who: Caller,
        request: Request,
        state: IncidentState | None = None,
        open_only: Annotated[bool, Query(alias="open")] = False,
        kind: Annotated[str | None, Query(max_length=64)] = None,
        colour: Level | None = None,
        grid_cell: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> IncidentPage:
        readers_only(who)
        cells = narrowed(visible_cells(request, who), None if grid_cell is None else [grid_cell])
        found = await engine.store.search(
            state=state, open_only=open_only, kind=kind,
            colour=None if colour is None else colour.value, grid_cells=cells, limit=limit,
        )  # fmt: skip
        return IncidentPage(incidents=found)

    @app.get("/api/incidents/{incident_id}")
    async def get_incident(incident_id: IncidentId, who: Caller, request: Request) -> Incident:
        return await visible(incident_id, who, request)

    @app.get("/api/incidents/{incident_id}/audit")
    async def audit(incident_id: IncidentId, who: Caller, request: Request) -> list[AuditRecord]:
        readers_only(who)
        await visible(incident_id, who, request)
        return await engine.store.audit(incident_id)

    @app.get("/api/incidents/{incident_id}/recommendations")
    async def recommendations(
        incident_id: IncidentId, who: Operator, request: Request
    ) -> RecommendationsOut:
        incident = await visible(incident_id, who, request)
        return _ranking_out(await engine.recommendations(incident, (), among(who)))

    @app.post("/api/incidents/{incident_id}/events")
    async def post_event(
        incident_id: IncidentId, caller: Caller, request: Request,
        body: Annotated[dict[str, Any], Body()],
    ) -> Incident:  # fmt: skip
        """Apply one event. `dispatch` without `responder_id` sends the first recommendation;
        with one (and `recommend`), only a responder the ranking lets go (404 for an unknown
        one, 409 with the ranking's reasons for one it left out), stored with its reasons."""
        await visible(incident_id, caller, request)  # 404 before 403: a foreign id stays unknown
        if not (caller.may(Perm.ACT) or caller.may(Perm.RESPOND)):
            raise HTTPException(403, f"the {caller.role} role may not change incidents")
        who = actor_of(caller)
        kind = body.get("type")
        allowed = RESPONDER_EVENTS if who.role is Role.RESPONDER else OPERATOR_EVENTS
        if kind not in allowed:
            raise HTTPException(422, f"event type must be one of {sorted(allowed)}")
        if {"actor", "at"} & body.keys():
            raise HTTPException(422, "actor and at are set by the hub")
        if who.role is Role.RESPONDER:
            if body.get("responder_id", who.id) != who.id:
                raise HTTPException(403, "a responder acts only for themselves")
            body = {**body, "responder_id": who.id}
        return await _guarded(lambda: _apply(engine, incident_id, who, body, among(caller)))

    @app.post("/api/responders", status_code=201)
    async def create_responder(new: ResponderCreate, who: Operator) -> NewResponder:
        """A scoped caller registers responders only at or below its scope, counting the nodes
        the grid file lists the id under."""
        serving = engine.grid_ids_for(new.id, new.grid_ids)
        if not within_scope(engine.grid, who.scope, serving):
            raise HTTPException(
                403, f"grid_ids must be nodes at or below your scope {who.scope}, at least one"
            )
        try:
            record, token = await engine.responders.create(new, engine.now())
        except ResponderExistsError:
            raise HTTPException(409, "a responder with this id exists") from None
        return NewResponder(responder=record, token=token)

    @app.get("/api/responders")
    async def list_responders(who: Operator) -> list[ResponderRecord]:
        """Everyone for an unscoped caller; else those serving the scope or a node above it."""
        return [r for r in await engine.responders.all() if sees(who, r)]

    @app.get("/api/me")
    async def me(who: Me) -> ResponderRecord:
        return await _responder(engine, who)

    @app.get("/api/me/incidents")
    async def my_incidents(who: Me) -> IncidentPage:
        """A responder's incidents with an assignment still open (newest first)."""
        await _responder(engine, who)
        found = await engine.store.search(open_only=True, limit=500)
        mine = [i for i in found if (a := i.assignment(who.id)) and a.state.value in _HOLDING]
        return IncidentPage(incidents=mine)

    @app.put("/api/me/position")
    async def report_position(position: ResponderPosition, who: Me) -> ResponderRecord:
        await _responder(engine, who)
        if position.reported_at.tzinfo is None:
            raise HTTPException(422, "reported_at must carry a timezone")
        if position.reported_at > engine.now():
            position = position.model_copy(update={"reported_at": engine.now()})
        changed = await engine.responders.change(who.id, engine.now(), position=position)
        return _present(changed)

    @app.put("/api/me/availability")
    async def set_availability(change: AvailabilityChange, who: Me) -> ResponderRecord:
        await _responder(engine, who)
        changed = await engine.responders.change(
            who.id, engine.now(), availability=change.availability
        )
        return _present(changed)

    @app.put("/api/responders/{responder_id}/availability")
    async def set_their_availability(
        responder_id: Annotated[str, Path(max_length=64)], change: AvailabilityChange,
        who: Operator,
    ) -> ResponderRecord:  # fmt: skip
        found = await engine.responders.get(responder_id)
        if found is not None and not sees(who, found):
            raise HTTPException(404, "no such responder")  # as an unknown one
        changed = await engine.responders.change(
            responder_id, engine.now(), availability=change.availability
        )
        return _present(changed)


async def _apply(
    engine: IncidentEngine, incident_id: str, who: Actor, body: dict[str, Any],
    among: Serving | None,
) -> Incident:  # fmt: skip
    """`among`: the responders the caller may dispatch (None: everyone)."""
    now = engine.now()
    if body["type"] == "dispatch" and "responder_id" not in body:
        reason = str(body.get("reason", ""))[:500]
        outcome = await engine.dispatch_best(incident_id, who, why=reason, among=among)
        if outcome is None:
            raise HTTPException(409, "no responder can be dispatched: see the recommendations")
        return outcome.incident
    try:
        event = EVENT_ADAPTER.validate_python({**body, "actor": who, "at": now})
    except ValidationError as error:
        raise HTTPException(422, public_errors(error.errors())) from None
    if isinstance(event, Dispatch | Recommend):
        return (await engine.dispatch_chosen(incident_id, event, among)).incident
    return (await engine.apply(incident_id, event)).incident


async def _guarded(action: Callable[[], Awaitable[Incident]]) -> Incident:
    try:
        return await action()
    except IncidentNotFoundError:
        raise HTTPException(404, "no such incident") from None
    except ResponderNotFoundError as error:
        raise HTTPException(404, f"no such responder: {error}") from None
    except ResponderNotEligibleError as error:
        raise HTTPException(409, str(error)) from None
    except LifecycleError as error:
        raise HTTPException(409, str(error)) from None


async def _responder(engine: IncidentEngine, who: Actor) -> ResponderRecord:
    if who.role is not Role.RESPONDER:
        raise HTTPException(403, "this is a responder's page: use a responder token")
    found = await engine.responders.get(who.id)
    if found is None:
        raise HTTPException(401, "unknown responder")
    return found


def _present(record: ResponderRecord | None) -> ResponderRecord:
    if record is None:
        raise HTTPException(404, "no such responder")
    return record
