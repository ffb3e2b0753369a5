"""The hub's FastAPI app, built by `create_app(settings, bus, store)`: no module-level state."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.websockets import WebSocketDisconnect

from hub.access import Perm, Principal, alert_cell, in_scope, narrowed, scope_cells
from hub.auth import (
    CrossSiteMiddleware,
    LoopbackHostMiddleware,
    require,
    require_operator,
    websocket_principal,
)
from hub.camera_health import HealthBoard
from hub.camera_registry import CameraRegistry
from hub.camera_routes import CameraService, add_camera_routes
from hub.contracts import (
    STREAM_ALERTS,
    STREAM_CAMERA_HEALTH,
    Alert,
    AlertKind,
    AlertStatus,
    CameraHealth,
    Level,
)
from hub.gateway import CameraGateway
from hub.grid import Grid, load_grid
from hub.incident_config import load_engine_config
from hub.incident_routes import add_incident_routes
from hub.incident_store import IncidentStore
from hub.incidents import IncidentEngine
from hub.ingest import AlertIngest
from hub.lifecycle import Incident
from hub.live import LiveFeed
from hub.live_video_routes import LiveVideo, add_live_video_routes
from hub.map_routes import add_map_routes, page_headers
from hub.outbound import Sink
from hub.outbound.relay import Relays
from hub.outbound.settings import sinks_from_settings
from hub.outbox import IncidentChange
from hub.patrol_routes import add_patrol_routes
from hub.report_routes import add_report_routes
from hub.responder_routes import add_responder_routes
from hub.responders import ResponderStore
from hub.scheduler import DeadlineScheduler
from hub.sealing import Sealer
from hub.settings import HubSettings
from hub.store import AlertCount, AlertStore
from hub.tasks import Supervised
from hub.users_routes import add_access_routes
from hub.validation import public_errors
from web import STATIC_DIR
from xueliang.bus import DEFAULT_MAX_BATCH, BatchHandler, Bus, bus_kind, one_by_one

Reader = Annotated[Principal, Depends(require_operator)]  # reads alerts (hub/access.py)
Admin = Annotated[Principal, Depends(require(Perm.METRICS))]
CameraHealthReader = Annotated[Principal, Depends(require(Perm.CAMERA_HEALTH))]
AlertId = Annotated[str, Path(min_length=1, max_length=64)]
SEND_TIMEOUT_S = 10.0  # a socket that cannot take one message in this long is dropped
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class InsecureBindError(Exception):
    """The hub would serve a non-loopback address without a token."""


def create_app(
    settings: HubSettings,
    bus: Bus,
    store: AlertStore,
    metrics: CollectorRegistry | None = None,
    gateway: CameraGateway | None = None,
) -> FastAPI:
    """`metrics`: a Prometheus registry served at /metrics (the embedded worker's, in the demo).
    `gateway`: reaches cameras for registration (probe, URL checks, snapshots); without one
    those routes answer 503. Raises InsecureBindError, or SealingError for a bad secret key."""
    if settings.api_token is None and not settings.is_loopback:
        raise InsecureBindError(
            f"refusing to serve {settings.host} without XUELIANG_API_TOKEN: set a token, "
            "or bind to 127.0.0.1"
        )
    secret_key = settings.secret_key
    sealer = None if secret_key is None else Sealer(secret_key.get_secret_value())
    live = LiveFeed()
    grid: Grid | None = None if settings.grid_file is None else load_grid(settings.grid_file)
    cameras = CameraService(CameraRegistry(store.engine), gateway, sealer, grid)
    store.cell_of = live.cell_of = functools.partial(alert_cell, grid)  # for grid scopes
    incidents = IncidentEngine(
        IncidentStore(store.engine), ResponderStore(store.engine), grid=grid,
        config=load_engine_config(settings.incident_config),
    )  # fmt: skip
    scheduler = DeadlineScheduler(incidents, poll_s=settings.deadline_poll_s)
    relays = Relays(incidents.store, _sinks(settings))

    def changed(incident: Incident, _change: IncidentChange) -> None:
        live.publish_incident(incident)
        relays.wake()
        scheduler.wake(min((d.due_at for d in incident.deadlines), default=None))

    incidents.on_change = changed
    ingest = AlertIngest(store, live, bus, incidents)
    health_board = HealthBoard()

    loops: dict[str, Supervised] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """Consumes the bus while the app serves. The caller owns `bus` and `store` and closes
        them after the app has stopped."""
        stop = asyncio.Event()
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        streams = {
            STREAM_ALERTS: (ingest.handle_batch, settings.ingest_batch),
            STREAM_CAMERA_HEALTH: (one_by_one(health_board.handle), DEFAULT_MAX_BATCH),
        }
        for stream, (handler, most) in streams.items():

            def run(
                stream: str = stream, handler: BatchHandler = handler, most: int = most
            ) -> Awaitable[None]:
                return bus.consume_batch(
                    stream, "hub", consumer, handler, stop=stop, max_batch=most
                )

            loops[stream] = Supervised(f"consume {stream}", run, stop)
            loops[stream].start()
        loops["deadlines"] = Supervised("deadlines", lambda: scheduler.run(stop), stop)
        loops["deadlines"].start()
        relays.start()
        if settings.api_token is not None:  # loopback-only: every caller is admin already
            await _app.state.first_admin.prepare()
        try:
            yield
        finally:
            stop.set()
            for loop in loops.values():
                await loop.join(timeout_s=5)
            await relays.stop()
            await _app.state.live_video.close()  # viewers, then camera connections

    app = FastAPI(title="xueliang hub", version="0.1.0", lifespan=lifespan)
    app.add_middleware(CrossSiteMiddleware, settings=settings)  # every route, one place
    if settings.api_token is None:
        app.add_middleware(LoopbackHostMiddleware)
    app.state.settings = settings
    app.state.grid = grid  # grid scopes (hub/access.py)
    app.state.store = store
    app.state.live = live
    app.state.ingest = ingest
    app.state.loops = loops
    app.state.scheduler = scheduler
    app.state.relays = relays
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    add_access_routes(app, settings, store.engine, live)  # users, sign-in, set-up
    _routes(app, settings, bus, store, live)

    registry = metrics or CollectorRegistry()

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(_who: Admin) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/cameras/health")
    async def camera_health(who: CameraHealthReader) -> list[CameraHealth]:
        """Every camera's last report; a scoped caller's own cells' cameras only (a report of
        a camera the registry does not know is shown to unscoped callers alone)."""
        reports = health_board.all()
        if who.scope is None:
            return reports
        stored = await cameras.registry.list()
        mine = {c.record.id for c in stored if cameras.in_scope(who, c.record)}
        return [report for report in reports if report.camera_id in mine]

    add_incident_routes(app, incidents)
    add_report_routes(app, incidents, store)
    add_camera_routes(app, cameras)  # after /api/cameras/health, which it must not shadow
    add_live_video_routes(app, LiveVideo(settings, cameras))  # WebRTC live view
    add_map_routes(app, incidents, cameras.registry)
    add_patrol_routes(app, incidents, cameras, store.engine, PAGE_HEADERS)  # video patrol
    add_responder_routes(app, incidents, store, PAGE_HEADERS)  # the responder's phone page
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _sinks(settings: HubSettings) -> list[Sink]:
    """Webhook and MQTT relays of incident changes, as configured (ValueError when unusable)."""
    return sinks_from_settings(
        webhook_url=settings.webhook_url, webhook_secret=settings.webhook_secret,
        webhook_timeout_s=settings.webhook_timeout_s, mqtt_url=settings.mqtt_url,
        mqtt_ca_file=settings.mqtt_ca_file,
    )  # fmt: skip


def _routes(
    app: FastAPI, settings: HubSettings, bus: Bus, store: AlertStore, live: LiveFeed
) -> None:
    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        """Public: 200 when the database answers and the alert consumer runs, else 503."""
        database = await store.ping()
        loops: dict[str, Supervised] = request.app.state.loops
        consuming = STREAM_ALERTS in loops and loops[STREAM_ALERTS].running
        ingest: AlertIngest = request.app.state.ingest
        ok = database and consuming
        body = {
            "status": "ok" if ok else "degraded",
            "database": database,
            "bus": bus_kind(bus),
            "alerts_stored": await store.count() if database else None,
            "ingest": {
                "running": consuming,
                "stored": ingest.stored,
                "duplicates": ingest.duplicates,
                "malformed": ingest.malformed,
            },
            "live_clients": live.clients,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        headers = page_headers(PAGE_HEADERS, settings)  # the map's tile server, when set
        return FileResponse(STATIC_DIR / "index.html", headers=headers)

    @app.get("/login", include_in_schema=False)
    async def login_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "login.html", headers=PAGE_HEADERS)

    @app.get("/integrator", include_in_schema=False)
    async def integrator_page() -> FileResponse:  # the page's API calls check the role
        return FileResponse(STATIC_DIR / "integrator.html", headers=PAGE_HEADERS)

    @app.get("/api/alerts")
    async def list_alerts(
        who: Reader,
        request: Request,
        camera_id: Annotated[str | None, Query(max_length=64)] = None,
        kind: AlertKind | None = None,
        level: Level | None = None,
        status: AlertStatus | None = None,
        grid_cell: Annotated[str | None, Query(max_length=64)] = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[Alert]:
        if since is not None and since.tzinfo is None:
            raise HTTPException(422, "since must carry a timezone, e.g. 2026-01-01T00:00:00Z")
        # `grid_cell`: the hub's cell of the alert (as scopes use), not the one a worker reported
        wanted = None if grid_cell is None else [grid_cell]
        cells = narrowed(scope_cells(who.scope, request.app.state.grid), wanted)
        return await store.list(
            camera_id=camera_id, kind=kind, level=level, status=status, since=since,
            grid_cells=cells, limit=limit,
        )  # fmt: skip

    @app.get("/api/alerts/{alert_id}")
    async def get_alert(alert_id: AlertId, who: Reader, request: Request) -> Alert:
        return await _known(store, alert_id, who, request)

    @app.get("/api/alerts/{alert_id}/counts")
    async def alert_counts(alert_id: AlertId, who: Reader, request: Request) -> list[AlertCount]:
        """The alert's reports, oldest first: the count over time."""
        await _known(store, alert_id, who, request)  # 404 when unknown or out of scope
        return await store.counts(alert_id)

    @app.get("/api/alerts/{alert_id}/snapshot.jpg", response_class=FileResponse)
    async def snapshot(alert_id: AlertId, who: Reader, request: Request) -> FileResponse:
        alert = await _known(store, alert_id, who, request)
        return _evidence_file(settings, alert.snapshot_ref, "snapshot", "image/jpeg")

    @app.get("/api/alerts/{alert_id}/clip.mp4", response_class=FileResponse)
    async def clip(alert_id: AlertId, who: Reader, request: Request) -> FileResponse:
        """The evidence clip (H.264 MP4), as the snapshot: same scope check, same folder."""
        alert = await _known(store, alert_id, who, request)
        return _evidence_file(settings, alert.clip_ref, "clip", "video/mp4")  # Range answered

    @app.websocket("/ws/alerts")
    async def alerts_socket(websocket: WebSocket) -> None:
        await websocket.accept()  # then close, so that a browser sees the code (1008)
        who = await websocket_principal(websocket, settings)
        if who is None:
            await websocket.close(code=1008)
            return
        tags = [t for t in (who.session, who.user_id and f"user:{who.user_id}") if t]
        queue = live.subscribe(scope_cells(who.scope, websocket.app.state.grid), tags)
        try:
            await _pump(websocket, queue, live)
        finally:
            live.unsubscribe(queue)


async def _pump(websocket: WebSocket, queue: asyncio.Queue[str | None], live: LiveFeed) -> None:
    """Send queued frames until the client leaves or falls too far behind. No task per frame:
    at 200 pages and a frame per ingested batch, that bookkeeping cost more than the sends."""
    receiver = asyncio.create_task(_until_gone(websocket, queue, live))
    try:
        while (message := await queue.get()) is not None:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await websocket.send_text(message)
        if not receiver.done():  # the feed dropped it: too slow, so reconnect and resync
            await websocket.close(code=1013)
    except (WebSocketDisconnect, TimeoutError):
        return
    finally:
        receiver.cancel()


async def _until_gone(
    websocket: WebSocket, queue: asyncio.Queue[str | None], live: LiveFeed
) -> None:
    """Reads (and ignores) what the client sends; when it disconnects, wakes the pump."""
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()
    finally:
        live.close(queue)


async def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": public_errors(error.errors())}, status_code=422)


def _evidence_file(
    settings: HubSettings, ref: str | None, what: str, media_type: str
) -> FileResponse:
    """An alert's evidence file (`ref` from the alert), confined to the evidence folder."""
    if ref is None:
        raise HTTPException(404, f"this alert has no {what}")
    folder = settings.evidence_dir.resolve()
    path = (folder / ref).resolve()
    if path.parent != folder or not path.is_file():
        raise HTTPException(404, f"{what} not found")
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )


async def _known(store: AlertStore, alert_id: str, who: Principal, request: Request) -> Alert:
    """The alert, if the caller's grid scope covers it: else 404, as for an unknown id."""
    alert = await store.get(alert_id)
    grid = request.app.state.grid
    if alert is None or not in_scope(scope_cells(who.scope, grid), alert_cell(grid, alert)):
        raise HTTPException(404, "no such alert")
    return alert
