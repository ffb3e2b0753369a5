"""Camera registration routes (integrators) and the fleet (workers).

Passwords go in, are sealed at once and never come out: responses say `has_password`. URLs
reach the camera side only through the gateway, which refuses destinations outside the allowed
camera networks, including what an ONVIF device answers.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr, ValidationError

from hub.access import Perm, Principal, in_scope, place_cell, scope_cells
from hub.auth import Role, require, require_roles
from hub.camera_models import (
    CameraCreate,
    CameraPublic,
    CameraRecord,
    CameraUpdate,
    Discovered,
    DiscoverRequest,
    GotoPreset,
    OnvifEndpoint,
    ProbeReport,
    ProbeRequest,
)
from hub.camera_registry import (
    CameraExistsError,
    CameraRegistry,
    StaleRevisionError,
    StoredCamera,
)
from hub.contracts import CameraSpec, GeoPoint
from hub.gateway import CameraAccessError, CameraGateway, Credentials
from hub.grid import Grid
from hub.sealing import Sealer, SealingError
from hub.validation import public_errors

log = logging.getLogger("xueliang.hub.cameras")

Integrator = Annotated[Principal, Depends(require(Perm.CAMERAS))]
Worker = Annotated[Role, Depends(require_roles(Role.WORKER))]
CameraId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
RESERVED_IDS = frozenset({"health", "probe", "discover"})  # sibling routes under /api/cameras/
IfMatch = Annotated[str | None, Header(max_length=32, description="Expected revision")]
_STATUS = {"timeout": 504, "unreachable": 502, "no_frame": 502, "invalid_response": 502}


def access_error_response(error: CameraAccessError) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error), "reason": error.reason, "transient": error.transient},
        status_code=_STATUS.get(error.reason, 422),
    )


class CameraService:
    def __init__(
        self, registry: CameraRegistry, gateway: CameraGateway | None, sealer: Sealer | None,
        grid: Grid | None = None,
    ) -> None:  # fmt: skip
        self.registry = registry
        self._gateway = gateway
        self._sealer = sealer
        self.grid = grid  # a camera's cell, for grid scopes, is decided as an incident's

    def cell_of(self, record: CameraRecord) -> str | None:
        return place_cell(self.grid, record.grid_cell, record.location.lat, record.location.lon)

    def in_scope(self, who: Principal, record: CameraRecord) -> bool:
        return in_scope(scope_cells(who.scope, self.grid), self.cell_of(record))

    async def visible(self, camera_id: str, who: Principal) -> StoredCamera:
        """The camera, when it is in the caller's grid scope; else 404, as an unknown one."""
        camera = await self.known(camera_id)
        if not self.in_scope(who, camera.record):
            raise HTTPException(404, "no such camera")
        return camera

    def may_place(self, who: Principal, grid_cell: str | None, where: GeoPoint) -> None:
        """A scoped integrator registers and moves cameras inside their scope only."""
        cell = place_cell(self.grid, grid_cell, where.lat, where.lon)
        if not in_scope(scope_cells(who.scope, self.grid), cell):
            raise HTTPException(403, "that place is outside your grid scope")

    @property
    def gateway(self) -> CameraGateway:
        if self._gateway is None:
            raise HTTPException(503, "this hub runs without a camera gateway (use `xueliang hub`)")
        return self._gateway

    def seal(self, password: SecretStr | None) -> str | None:
        if password is None:
            return None
        if self._sealer is None:
            raise HTTPException(
                503, "XUELIANG_SECRET_KEY is not set: the hub cannot store camera passwords"
            )
        return self._sealer.seal(password.get_secret_value())

    def credentials(self, camera: StoredCamera) -> Credentials:
        if camera.password_sealed is None:
            return Credentials(camera.username, None)
        if self._sealer is None:
            raise HTTPException(503, "XUELIANG_SECRET_KEY is not set: cannot open the password")
        try:
            return Credentials(camera.username, self._sealer.open(camera.password_sealed))
        except SealingError as error:
            raise HTTPException(503, str(error)) from None

    async def known(self, camera_id: str) -> StoredCamera:
        camera = await self.registry.get(camera_id)
        if camera is None:
            raise HTTPException(404, "no such camera")
        return camera

    async def resolve_source(
        self, rtsp_url: str | None, onvif: OnvifEndpoint | None, credentials: Credentials
    ) -> tuple[str, str | None, ProbeReport | None]:
        """(stream URL, snapshot URL, probe report) for a direct URL or an ONVIF device."""
        if onvif is None:
            assert rtsp_url is not None
            await self.gateway.check_stream_url(rtsp_url)
            return rtsp_url, None, None
        report = await self.gateway.probe_onvif(onvif, credentials)
        profile = report.pick(onvif.profile)
        if profile is None or profile.stream_url is None:
            wanted = f"profile {onvif.profile!r}" if onvif.profile else "a profile"
            raise HTTPException(422, f"the device offers no {wanted} with a usable stream URL")
        return profile.stream_url, report.snapshot_url, report

    @staticmethod
    def with_profile(
        onvif: OnvifEndpoint | None, report: ProbeReport | None
    ) -> OnvifEndpoint | None:
        """The endpoint with the profile token in use recorded (PTZ calls name it)."""
        if onvif is None or report is None or onvif.profile is not None:
            return onvif
        chosen = report.pick(None)
        return onvif if chosen is None else onvif.model_copy(update={"profile": chosen.token})


def add_camera_routes(app: FastAPI, service: CameraService) -> None:
    app.add_exception_handler(CameraAccessError, _on_access_error)  # type: ignore[arg-type]

    @app.post("/api/cameras/probe", response_model=ProbeReport)
    async def probe(body: ProbeRequest, _who: Integrator) -> ProbeReport:
        password = None if body.password is None else body.password.get_secret_value()
        return await service.gateway.probe_onvif(body.onvif, Credentials(body.username, password))

    @app.post("/api/cameras/discover", response_model=list[Discovered])
    async def discover(body: DiscoverRequest, _who: Integrator) -> list[Discovered]:
        """WS-Discovery on the hub's network; `allowed` says which may be registered."""
        return await service.gateway.discover(body.timeout_s)

    @app.post("/api/cameras/{camera_id}/ptz/goto", status_code=204)
    async def ptz_goto(camera_id: CameraId, body: GotoPreset, who: Integrator) -> Response:
        camera = await service.visible(camera_id, who)
        if camera.record.onvif is None:
            raise HTTPException(422, "PTZ needs a camera registered by ONVIF")
        if body.preset not in {preset.token for preset in camera.record.ptz_presets}:
            raise HTTPException(422, f"the camera has no preset {body.preset!r}")
        await service.gateway.goto_preset(
            camera.record.onvif, service.credentials(camera), body.preset
        )
        log.info("camera %s sent to preset %s", camera_id, body.preset)
        return Response(status_code=204)

    @app.post("/api/cameras", status_code=201, response_model=CameraPublic)
    async def register(body: CameraCreate, who: Integrator) -> CameraPublic:
        camera_id = body.id or f"cam-{uuid.uuid4().hex[:12]}"
        if camera_id in RESERVED_IDS:
            raise HTTPException(422, f"camera id {camera_id!r} is reserved")
        service.may_place(who, body.grid_cell, body.location)
        sealed = service.seal(body.password)
        password = None if body.password is None else body.password.get_secret_value()
        stream_url, snapshot_url, report = await service.resolve_source(
            body.rtsp_url, body.onvif, Credentials(body.username, password)
        )
        fields = body.model_dump(exclude={"id", "rtsp_url", "onvif", "username", "password"})
        record = CameraRecord(
            **fields, id=camera_id, stream_url=stream_url, snapshot_url=snapshot_url,
            onvif=service.with_profile(body.onvif, report),
            device=None if report is None else report.device,
            ptz_presets=[] if report is None else report.ptz_presets,
        )  # fmt: skip
        try:
            stored = await service.registry.add(record, body.username, sealed, _now())
        except CameraExistsError as error:
            raise HTTPException(409, str(error)) from None
        log.info("camera %s registered", camera_id)
        return stored.public()

    @app.get("/api/cameras", response_model=list[CameraPublic])
    async def list_cameras(who: Integrator, enabled: bool | None = None) -> list[CameraPublic]:
        return [camera.public() for camera in await service.registry.list(enabled=enabled)
                if service.in_scope(who, camera.record)]  # fmt: skip

    @app.get("/api/cameras/{camera_id}", response_model=CameraPublic)
    async def show(camera_id: CameraId, who: Integrator) -> CameraPublic:
        return (await service.visible(camera_id, who)).public()

    @app.patch("/api/cameras/{camera_id}", response_model=CameraPublic)
    async def change(
        camera_id: CameraId, body: CameraUpdate, who: Integrator, if_match: IfMatch = None
    ) -> CameraPublic:
        """`If-Match: "<revision>"` (optional): refused with 409 unless the camera is still at
        that revision, so an editor that read it earlier cannot overwrite a newer change."""
        current = await service.visible(camera_id, who)
        _check_revision(if_match, current.revision)
        stored = await _apply(service, current, body, who)
        log.info("camera %s changed (revision %d)", camera_id, stored.revision)
        return stored.public()

    @app.delete("/api/cameras/{camera_id}", status_code=204)
    async def remove(camera_id: CameraId, who: Integrator) -> Response:
        await service.visible(camera_id, who)
        if not await service.registry.remove(camera_id):
            raise HTTPException(404, "no such camera")
        log.info("camera %s removed", camera_id)
        return Response(status_code=204)

    @app.get("/api/cameras/{camera_id}/snapshot.jpg", response_class=Response)
    async def snapshot(camera_id: CameraId, who: Integrator) -> Response:
        camera = await service.visible(camera_id, who)
        jpeg = await service.gateway.snapshot(
            camera.record.stream_url, camera.record.snapshot_url, service.credentials(camera)
        )
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/fleet", response_model=list[CameraSpec])
    async def fleet(_who: Worker) -> list[CameraSpec]:
        """Enabled cameras as workers run them; passwords stay sealed."""
        return [camera.spec() for camera in await service.registry.list(enabled=True)]


def _check_revision(if_match: str | None, revision: int) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if not wanted.isdigit():
        raise HTTPException(400, 'If-Match must be a camera revision, e.g. "3"')
    if int(wanted) != revision:
        raise HTTPException(
            409, f"the camera changed since revision {wanted} (now {revision}): read it again"
        )


async def _apply(
    service: CameraService, current: StoredCamera, body: CameraUpdate, who: Principal
) -> StoredCamera:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    username = changes.pop("username", current.username)
    sealed = current.password_sealed
    if "password" in changes:
        sealed = service.seal(changes.pop("password"))
    rtsp_url = changes.pop("rtsp_url", None)
    if rtsp_url is not None:
        await service.gateway.check_stream_url(rtsp_url)
        changes.update(stream_url=rtsp_url, onvif=None, snapshot_url=None)
    try:
        record = CameraRecord.model_validate(current.record.model_dump() | changes)
    except ValidationError as error:
        raise HTTPException(422, public_errors(error.errors(include_input=False))) from None
    service.may_place(who, record.grid_cell, record.location)  # not moved out of one's scope
    try:
        return await service.registry.replace(current, record, username, sealed, _now())
    except StaleRevisionError as error:
        raise HTTPException(409, str(error)) from None


async def _on_access_error(_request: object, error: CameraAccessError) -> JSONResponse:
    return access_error_response(error)


def _now() -> datetime:
    return datetime.now(UTC)
