"""Video patrol routes (thin: the arithmetic is hub/patrol_plan.py, the rows hub/patrol_store.py).

Readers (admin, operator, viewer) read plans, positions, the log and coverage, and see the
snapshots of the cameras on a plan's route (patrol staff need no camera-registration rights);
those who act on incidents (admin, operator) edit plans, write the log and report. The log has
no update or delete route: the page appends one entry per camera shown, and the hub sets who
wrote it and how long it lasted.

A caller scoped to part of the grid sees a plan when some of its route is in its scope, and then
only that part: the route and the named cameras of its scope (a tag matches only those). Any
other plan answers 404, like an unknown one. It changes or removes only plans naming no camera
outside its scope (403), names only cameras of its scope when writing one (422, as unknown
ones), and reads the log of its cameras only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.access import Perm, Principal
from hub.auth import require
from hub.camera_models import CameraRecord
from hub.camera_routes import CameraService
from hub.incident_routes import actor_of
from hub.incidents import IncidentEngine
from hub.patrol_models import (
    Coverage,
    LogEntry,
    Plan,
    PlanIn,
    Position,
    ReportIn,
    ReportOut,
    ViewIn,
)
from hub.patrol_plan import CameraInfo, Viewed, coverage, on_shift, position, resolve_route
from hub.patrol_report import open_report
from hub.patrol_store import MAX_LOG, PatrolStore, StalePlanError, StoredPlan
from hub.reports import DEFAULT_TZ, day_bounds
from web import STATIC_DIR

Reader = Annotated[Principal, Depends(require(Perm.READ))]
Actor = Annotated[Principal, Depends(require(Perm.ACT))]
PlanId = Annotated[str, Path(min_length=1, max_length=64)]
CameraId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Filter = Annotated[str | None, Query(min_length=1, max_length=64)]
IfMatch = Annotated[str | None, Header(max_length=32, description="Expected revision")]
CLOCK_SKEW_S = 60  # a page's clock may run this far ahead of the hub's
MAX_LATE_S = 3600  # a view is logged within this long of its end, or not at all
REPORT_WITHIN_S = 3600  # a report is about a view that ended at most this long ago


class PatrolService:
    def __init__(self, store: PatrolStore, cameras: CameraService, engine: IncidentEngine) -> None:
        self.store = store
        self.cameras = cameras
        self.engine = engine

    async def _stored(self, plan_id: str) -> StoredPlan:
        found = await self.store.plan(plan_id)
        if found is None:
            raise HTTPException(404, "no such patrol plan")
        return found

    async def seen(self, plan_id: str, who: Principal) -> Plan:
        """The plan as the caller sees it (`shown`); 404 as an unknown one when it may not."""
        plan = await self._found(plan_id, who)
        if plan is None:
            raise HTTPException(404, "no such patrol plan")
        return plan

    async def _found(self, plan_id: str, who: Principal) -> Plan | None:
        """None when no such plan exists or the caller may not see it."""
        stored = await self.store.plan(plan_id)
        if stored is None:
            return None
        return self._shown(stored, who, await self.scoped_cameras(who))

    async def scoped_cameras(self, who: Principal) -> list[CameraInfo]:
        """The registered cameras in the caller's grid scope."""
        return [CameraInfo(c.record.id, c.record.name, tuple(c.record.tags), c.record.enabled)
                for c in await self.cameras.registry.list()
                if self.cameras.in_scope(who, c.record)]  # fmt: skip

    async def all_shown(self, plans: list[StoredPlan], who: Principal) -> list[Plan]:
        """The plans the caller sees, as it sees them (one read of the camera list)."""
        cameras = await self.scoped_cameras(who)
        shown = [self._shown(stored, who, cameras) for stored in plans]
        return [plan for plan in shown if plan is not None]

    def _shown(self, stored: StoredPlan, who: Principal, cameras: list[CameraInfo]) -> Plan | None:
        """The plan as the caller sees it (its route and the cameras it names: those of the
        caller's scope, `cameras`), or None when none of its route is in the caller's scope."""
        plan = self._resolved(stored, cameras)
        if who.scope is None:
            return plan
        if not plan.route:
            return None
        mine = {camera.id for camera in cameras}
        steps = [step for step in plan.steps if step.camera_id is None or step.camera_id in mine]
        return plan.model_copy(update={"steps": steps})

    async def editable(self, plan_id: str, who: Principal) -> StoredPlan:
        """A plan the caller sees and may change: every camera it names is in its scope (403
        otherwise: changing it would drop, or reveal, cameras of other cells)."""
        stored = await self._stored(plan_id)
        cameras = await self.scoped_cameras(who)
        if self._shown(stored, who, cameras) is None:
            raise HTTPException(404, "no such patrol plan")
        mine = {camera.id for camera in cameras}
        named = {step.camera_id for step in stored.plan.steps if step.camera_id}
        if who.scope is not None and not named <= mine:
            raise HTTPException(403, "this plan names cameras outside your grid scope")
        return stored

    async def view(self, stored: StoredPlan, who: Principal) -> Plan:
        return self._resolved(stored, await self.scoped_cameras(who))

    def _resolved(self, stored: StoredPlan, cameras: list[CameraInfo]) -> Plan:
        route = resolve_route(stored.plan.steps, stored.plan.dwell_s, cameras)
        return Plan(
            **stored.plan.model_dump(), id=stored.id, revision=stored.revision,
            created_at=stored.created_at, updated_at=stored.updated_at, route=route,
            on_shift=on_shift(stored.plan.shift, self.engine.now()),
        )  # fmt: skip

    async def checked(self, plan: PlanIn, who: Principal) -> None:
        """422 for a camera id nobody registered (or outside the caller's scope)."""
        registered = {camera.id for camera in await self.scoped_cameras(who)}
        unknown = sorted({s.camera_id for s in plan.steps if s.camera_id} - registered)
        if unknown:
            raise HTTPException(422, f"no such camera: {', '.join(unknown[:10])}")

    async def on_route(self, plan_id: str, camera_id: str, who: Principal) -> Plan:
        """422 (the body names them) unless the plan exists and the camera is on its route."""
        plan = await self._found(plan_id, who)
        if plan is None:
            raise HTTPException(422, f"no such patrol plan: {plan_id}")
        if camera_id not in {stop.camera_id for stop in plan.route}:
            raise HTTPException(422, f"camera {camera_id} is not on the route of {plan_id}")
        return plan


def add_patrol_routes(
    app: FastAPI, engine: IncidentEngine, cameras: CameraService, database: AsyncEngine,
    page_headers: dict[str, str],
) -> None:  # fmt: skip
    service = PatrolService(PatrolStore(database), cameras, engine)
    store = service.store

    @app.get("/patrol", include_in_schema=False)
    async def patrol_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "patrol.html", headers=page_headers)

    @app.get("/api/patrol/plans")
    async def list_plans(who: Reader) -> list[Plan]:
        return await service.all_shown(await store.plans(), who)

    @app.post("/api/patrol/plans", status_code=201)
    async def create_plan(body: PlanIn, who: Actor) -> Plan:
        await service.checked(body, who)
        created = await service.view(await store.add_plan(body, engine.now()), who)
        if not created.route:
            await store.remove_plan(created.id)
            raise HTTPException(422, "the route is empty: no enabled camera has these ids or tags")
        return created

    @app.get("/api/patrol/plans/{plan_id}")
    async def show_plan(plan_id: PlanId, who: Reader) -> Plan:
        return await service.seen(plan_id, who)

    @app.put("/api/patrol/plans/{plan_id}")
    async def replace_plan(
        plan_id: PlanId, body: PlanIn, who: Actor, if_match: IfMatch = None
    ) -> Plan:
        """`If-Match: "<revision>"` (optional): 409 unless the plan is still at that revision."""
        current = await service.editable(plan_id, who)
        if if_match is not None and if_match.strip('W/"') != str(current.revision):
            raise HTTPException(409, f"the plan is at revision {current.revision}: read it again")
        await service.checked(body, who)
        try:
            return await service.view(await store.replace_plan(current, body, engine.now()), who)
        except StalePlanError as error:
            raise HTTPException(409, str(error)) from None

    @app.delete("/api/patrol/plans/{plan_id}", status_code=204)
    async def remove_plan(plan_id: PlanId, who: Actor) -> Response:
        await service.editable(plan_id, who)
        if not await store.remove_plan(plan_id):
            raise HTTPException(404, "no such patrol plan")
        return Response(status_code=204)

    @app.get("/api/patrol/plans/{plan_id}/position")
    async def plan_position(
        plan_id: PlanId, anchor: datetime, who: Reader, at: datetime | None = None
    ) -> Position:
        """The camera on screen at `at` (default: now) for a run that began at `anchor`."""
        if anchor.tzinfo is None or (at is not None and at.tzinfo is None):
            raise HTTPException(422, "anchor and at must carry a timezone")
        plan = await service.seen(plan_id, who)
        found = position(plan.route, anchor, at or engine.now())
        if found is None:
            raise HTTPException(409, "the plan's route is empty (cameras removed or disabled)")
        return found

    @app.get("/api/patrol/plans/{plan_id}/coverage")
    async def plan_coverage(
        plan_id: PlanId, day: date, who: Reader,
        tz: Annotated[str, Query(max_length=64)] = DEFAULT_TZ,
    ) -> Coverage:  # fmt: skip
        plan = await service.seen(plan_id, who)
        start, end = _bounds(day, tz)
        views = await store.log(start=start, end=end, plan_id=plan_id, limit=100_000)
        figure = coverage(plan.route, (Viewed(v.camera_id, v.seconds_viewed) for v in views))
        return Coverage(
            plan_id=plan_id, day=day.isoformat(), tz=tz, planned=figure.planned,
            viewed=figure.viewed, ratio=figure.ratio, missed=figure.missed,
            seconds_viewed=figure.seconds_viewed,
        )  # fmt: skip

    @app.get("/api/patrol/plans/{plan_id}/cameras/{camera_id}/snapshot.jpg",
             response_class=Response)  # fmt: skip
    async def patrol_snapshot(plan_id: PlanId, camera_id: CameraId, who: Reader) -> Response:
        """The camera's snapshot (as GET /api/cameras/{id}/snapshot.jpg), for route cameras in
        the caller's grid scope."""
        plan = await service.seen(plan_id, who)
        if camera_id not in {stop.camera_id for stop in plan.route}:
            raise HTTPException(404, "no such camera on this plan's route")
        camera = await cameras.known(camera_id)
        _in_scope(cameras, who, camera.record)
        jpeg = await cameras.gateway.snapshot(
            camera.record.stream_url, camera.record.snapshot_url, cameras.credentials(camera)
        )
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.post("/api/patrol/log", status_code=201)
    async def log_view(body: ViewIn, who: Actor) -> LogEntry:
        now = engine.now()
        if body.ended_at > now + timedelta(seconds=CLOCK_SKEW_S):
            raise HTTPException(422, "ended_at is in the future: check the page's clock")
        if body.ended_at < now - timedelta(seconds=MAX_LATE_S):
            raise HTTPException(422, f"a view is logged within {MAX_LATE_S} s of its end")
        camera = await cameras.registry.get(body.camera_id)
        if camera is not None:  # a foreign camera answers 404; an unknown one, 422 below
            _in_scope(cameras, who, camera.record)
        await service.on_route(body.plan_id, body.camera_id, who)
        return await store.append(body, actor_of(who).id, now)

    @app.get("/api/patrol/log")
    async def read_log(
        who: Reader, day: date, tz: Annotated[str, Query(max_length=64)] = DEFAULT_TZ,
        operator: Filter = None, camera_id: Filter = None, plan_id: Filter = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LOG)] = 500,
    ) -> list[LogEntry]:  # fmt: skip
        """Views that started on `day` (local midnight to midnight in `tz`), oldest first; a
        scoped caller's, of its cameras only."""
        start, end = _bounds(day, tz)
        mine = None
        if who.scope is not None:
            mine = {camera.id for camera in await service.scoped_cameras(who)}
        return await store.log(start=start, end=end, plan_id=plan_id, operator=operator,
                               camera_id=camera_id, camera_ids=mine, limit=limit)  # fmt: skip

    @app.post("/api/patrol/reports", status_code=201, response_model=ReportOut)
    async def report(body: ReportIn, who: Actor) -> JSONResponse:
        """Open an incident at the camera of one's own view just logged (200: reported before)."""
        entry = await store.entry(body.log_entry_id)
        actor = actor_of(who)
        if entry is None or entry.operator != actor.id:
            raise HTTPException(404, "no such patrol log entry of yours")
        if entry.ended_at < engine.now() - timedelta(seconds=REPORT_WITHIN_S):
            raise HTTPException(422, f"report within {REPORT_WITHIN_S} s of the view")
        camera = await cameras.registry.get(entry.camera_id)
        if camera is not None:
            _in_scope(cameras, who, camera.record)
        where, cell = (None, None) if camera is None else (camera.record.location,
                                                          camera.record.grid_cell)  # fmt: skip
        incident, created = await open_report(engine, entry, body, actor, where, cell)
        out = ReportOut(incident_id=incident.id, created=created, log_entry_id=entry.id)
        return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


def _in_scope(cameras: CameraService, who: Principal, camera: CameraRecord) -> None:
    """A camera outside the caller's grid scope answers as an unknown one (404)."""
    if not cameras.in_scope(who, camera):
        raise HTTPException(404, f"no camera {camera.id}")


def _bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    try:
        return day_bounds(day, tz)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
