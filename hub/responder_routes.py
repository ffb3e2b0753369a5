"""The responder page's own routes (web/static/responder.html), beside hub/incident_routes.py:

- `GET /responder`: the page;
- `GET /api/me/tasks`: the responder's assignments with what the phone shows: its assignment,
  when it was dispatched, the next deadline, whether a snapshot exists. Unlike
  `/api/me/incidents` it keeps a cleared assignment until feedback is in (the page's last step);
- `GET /api/me/incidents/{id}/snapshot.jpg`: the incident's latest alert snapshot (the alert
  snapshot route is for readers, and a responder reads only its own incidents);
- `POST /api/me/incidents/{id}/photos`: a feedback photo (JPEG or PNG body, size-limited, magic
  checked) stored in the evidence folder; the answer's `ref` goes in the feedback's `evidence`;
- `GET /api/incidents/{id}/photos/{name}`: the photo back, for readers of the incident (in
  scope) and for the responder assigned to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from hub.access import Perm, in_scope
from hub.access_deps import Caller, Me, visible_cells
from hub.incidents import IncidentEngine
from hub.lifecycle import Actor, Assignment, AssignmentState, Incident, IncidentState
from hub.lifecycle.model import DeadlineKind
from hub.map_routes import page_headers
from hub.settings import HubSettings
from hub.store import AlertStore
from web import STATIC_DIR
from xueliang.evidence_store import EvidenceFolder

IncidentId = Annotated[str, Path(min_length=1, max_length=64)]
PhotoName = Annotated[str, Path(pattern=r"^feedback-[0-9a-f]{12}-[0-9a-f]{32}\.(jpg|png)$")]
MAX_PHOTO_BYTES = 4 * 1024 * 1024  # a 1600 px JPEG is well under 1 MiB; a raw phone PNG fits
MAGIC = {b"\xff\xd8\xff": ("jpg", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("png", "image/png")}
A = AssignmentState
HOLDING = frozenset({A.NOTIFIED, A.ACKNOWLEDGED, A.EN_ROUTE, A.ON_SCENE})
# The deadline the responder is working against, by the state of its assignment.
NEXT_DEADLINE = {A.NOTIFIED: DeadlineKind.ACKNOWLEDGE, A.ACKNOWLEDGED: DeadlineKind.ARRIVE,
                 A.EN_ROUTE: DeadlineKind.ARRIVE, A.ON_SCENE: DeadlineKind.HANDLE,
                 A.CLEARED: DeadlineKind.FEEDBACK}  # fmt: skip


class DeadlineOut(BaseModel):
    kind: DeadlineKind
    due_at: datetime


class Task(BaseModel):
    incident: Incident
    assignment: Assignment
    dispatched_at: datetime
    deadline: DeadlineOut | None
    has_snapshot: bool


class TaskPage(BaseModel):
    tasks: list[Task]
    tile_url: str | None
    tile_attribution: str


class StoredPhoto(BaseModel):
    ref: str  # the URL of GET /api/incidents/{id}/photos/{name}
    name: str
    bytes: int


def awaits_me(incident: Incident, me: str) -> Assignment | None:
    """My assignment if it still needs me: holding, or cleared with no feedback yet."""
    mine = incident.assignment(me)
    if mine is None:
        return None
    if mine.state in HOLDING:
        return mine
    waiting = mine.state is A.CLEARED and incident.state is IncidentState.ON_SCENE
    return mine if waiting else None


def photo_prefix(incident_id: str) -> str:
    """Names carry a digest of their incident, so a photo is served only with its incident."""
    return f"feedback-{hashlib.sha256(incident_id.encode()).hexdigest()[:12]}-"


def sniff(data: bytes) -> tuple[str, str] | None:
    return next((kind for magic, kind in MAGIC.items() if data.startswith(magic)), None)


def add_responder_routes(
    app: FastAPI, engine: IncidentEngine, alerts: AlertStore, headers: dict[str, str]
) -> None:
    settings: HubSettings = app.state.settings

    async def mine(incident_id: str, who: Actor) -> tuple[Incident, Assignment]:
        incident = await engine.store.get(incident_id)
        found = None if incident is None else incident.assignment(who.id)
        if incident is None or found is None:
            raise HTTPException(404, "no such incident")  # as for one never assigned
        return incident, found

    async def snapshot_ref(incident: Incident) -> str | None:
        for alert_id in reversed(list(incident.alerts)[-10:]):  # the latest alerts first
            alert = await alerts.get(alert_id)
            if alert is not None and alert.snapshot_ref:
                return alert.snapshot_ref
        return None

    async def dispatched_at(incident: Incident, me: str, fallback: datetime) -> datetime:
        trail = await engine.store.audit(incident.id)
        sent = [r.at for r in trail if r.event == "dispatch" and r.responder_id == me]
        return sent[-1] if sent else fallback

    @app.get("/responder", include_in_schema=False)
    async def responder_page() -> FileResponse:  # the page's API calls check the role
        return FileResponse(STATIC_DIR / "responder.html", headers=page_headers(headers, settings))

    @app.get("/api/me/tasks")
    async def my_tasks(who: Me) -> TaskPage:
        if await engine.responders.get(who.id) is None:
            raise HTTPException(401, "unknown responder")
        tasks = []
        for incident in await engine.store.search(open_only=True, limit=500):
            assignment = awaits_me(incident, who.id)
            if assignment is None:
                continue
            kind = NEXT_DEADLINE.get(assignment.state)
            subject = who.id if kind is DeadlineKind.ACKNOWLEDGE else None
            due = None if kind is None else incident.deadline(kind, subject)
            tasks.append(Task(
                incident=incident, assignment=assignment,
                dispatched_at=await dispatched_at(incident, who.id, assignment.since),
                deadline=None if due is None else DeadlineOut(kind=due.kind, due_at=due.due_at),
                has_snapshot=await snapshot_ref(incident) is not None,
            ))  # fmt: skip
        return TaskPage(tasks=tasks, tile_url=settings.map_tile_url,
                        tile_attribution=settings.map_tile_attribution)  # fmt: skip

    @app.get("/api/me/incidents/{incident_id}/snapshot.jpg", response_class=FileResponse)
    async def my_snapshot(incident_id: IncidentId, who: Me) -> FileResponse:
        incident, _ = await mine(incident_id, who)
        ref = await snapshot_ref(incident)
        folder = settings.evidence_dir.resolve()
        path = None if ref is None else (folder / ref).resolve()
        if path is None or path.parent != folder or not path.is_file():
            raise HTTPException(404, "this incident has no snapshot")
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip

    @app.post("/api/me/incidents/{incident_id}/photos", status_code=201)
    async def upload_photo(incident_id: IncidentId, who: Me, request: Request) -> StoredPhoto:
        _, assignment = await mine(incident_id, who)
        if assignment.state not in (A.ON_SCENE, A.CLEARED):
            raise HTTPException(409, "a feedback photo is taken on scene")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
            raise HTTPException(413, f"a photo may be at most {MAX_PHOTO_BYTES} bytes")
        data = bytearray()
        async for chunk in request.stream():  # counted as it comes: no length is trusted
            data += chunk
            if len(data) > MAX_PHOTO_BYTES:
                raise HTTPException(413, f"a photo may be at most {MAX_PHOTO_BYTES} bytes")
        kind = sniff(bytes(data[:8]))
        if kind is None:
            raise HTTPException(415, "a photo must be a JPEG or PNG image")
        name = f"{photo_prefix(incident_id)}{uuid.uuid4().hex}.{kind[0]}"
        folder = EvidenceFolder(settings.evidence_dir)
        await asyncio.to_thread(folder.write, name, bytes(data))  # off the event loop
        ref = f"/api/incidents/{incident_id}/photos/{name}"
        return StoredPhoto(ref=ref, name=name, bytes=len(data))

    @app.get("/api/incidents/{incident_id}/photos/{name}", response_class=FileResponse)
    async def photo(
        incident_id: IncidentId, name: PhotoName, who: Caller, request: Request
    ) -> FileResponse:
        incident = await engine.store.get(incident_id)
        if incident is None or not name.startswith(photo_prefix(incident_id)):
            raise HTTPException(404, "no such photo")
        if who.may(Perm.READ):
            if not in_scope(visible_cells(request, who), incident.grid_cell):
                raise HTTPException(404, "no such photo")
        elif who.responder_id is None or incident.assignment(who.responder_id) is None:
            raise HTTPException(404, "no such photo")
        path = settings.evidence_dir / name
        if not path.is_file():
            raise HTTPException(404, "no such photo")
        media = "image/jpeg" if name.endswith(".jpg") else "image/png"
        return FileResponse(path, media_type=media,
                            headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip
