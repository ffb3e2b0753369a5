"""`GET /api/map`: the console map's layers (hub/map_layers.py) and what the page needs to draw
them (tile URL, ring speed, whether the Leaflet files were built).

`map_view(who, ...)` is the one place that queries for a caller, so limiting an operator to their
grid cells is a change there.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from hub.access import Cells, in_scope, place_cell, serves_scope
from hub.camera_registry import CameraRegistry
from hub.incident_routes import Caller, Who, visible_cells
from hub.incidents import IncidentEngine
from hub.lifecycle import Actor, Role
from hub.map_layers import (
    FeatureCollection,
    camera_layer,
    grid_layer,
    incident_layer,
    responder_layer,
    ring_layer,
)
from hub.settings import HubSettings
from web import STATIC_DIR

log = logging.getLogger("xueliang.hub.map")
VENDOR_DIR = STATIC_DIR / "vendor" / "leaflet"
VENDOR_FILES = ("leaflet.js", "leaflet.css")
MAX_INCIDENTS = 500  # the incident list's own cap


class MapMeta(BaseModel):
    generated_at: datetime
    tile_url: str | None
    tile_attribution: str
    ring_mode: str
    ring_speed_m_s: float
    max_position_age_s: float
    vendor_ready: bool


class MapView(BaseModel):
    meta: MapMeta
    grid: FeatureCollection
    cameras: FeatureCollection
    incidents: FeatureCollection
    responders: FeatureCollection
    rings: FeatureCollection


def vendor_ready() -> bool:
    return all((VENDOR_DIR / name).is_file() for name in VENDOR_FILES)


def page_headers(base: dict[str, str], settings: HubSettings) -> dict[str, str]:
    """The console's headers, with the tile server's origin allowed for images when set."""
    if settings.map_tile_url is None:
        return base
    parts = urlsplit(settings.map_tile_url.replace("{s}", "*"))  # subdomains: a CSP wildcard
    policy = base["Content-Security-Policy"].replace(
        "img-src 'self' data:", f"img-src 'self' data: {parts.scheme}://{parts.netloc}"
    )
    return {**base, "Content-Security-Policy": policy}


async def map_view(
    who: Actor, engine: IncidentEngine, cameras: CameraRegistry, settings: HubSettings,
    cells: Cells = None, scope: str | None = None,
) -> MapView:
    """Every layer for an operator; `cells`: a caller's grid scope (hub/access.py), which
    limits the incidents and cameras shown (None: the whole city); `scope` (its node) limits
    the responders shown to those serving it."""
    if who.role is Role.RESPONDER:
        raise HTTPException(403, "responders may act on their own assignments only")
    config, now = engine.config, engine.now()
    incidents, responders, stored = await asyncio.gather(
        engine.store.search(
            open_only=True, grid_cells=None if cells is None else sorted(cells),
            limit=MAX_INCIDENTS,
        ),
        engine.responders.all(),
        cameras.list(),
    )
    responders = [r for r in responders
                  if serves_scope(engine.grid, scope, engine.grid_ids_of(r))]  # fmt: skip
    stored = [c for c in stored if in_scope(cells, place_cell(
        engine.grid, c.record.grid_cell, c.record.location.lat, c.record.location.lon))]
    meta = MapMeta(
        generated_at=now, tile_url=settings.map_tile_url,
        tile_attribution=settings.map_tile_attribution, ring_mode=settings.map_ring_mode.value,
        ring_speed_m_s=config.speeds.speed_m_s(settings.map_ring_mode),
        max_position_age_s=config.dispatch.max_position_age_s, vendor_ready=vendor_ready(),
    )  # fmt: skip
    return MapView(
        meta=meta, grid=grid_layer(engine.grid), cameras=camera_layer(stored),
        incidents=incident_layer(incidents, engine.grid),
        responders=responder_layer(responders, now, config.dispatch),
        rings=ring_layer(engine.grid, config.speeds, settings.map_ring_mode),
    )  # fmt: skip


def add_map_routes(app: FastAPI, engine: IncidentEngine, registry: CameraRegistry) -> None:
    settings: HubSettings = app.state.settings
    if not vendor_ready():
        log.warning("console map: %s is missing; run scripts/build_web.sh", VENDOR_DIR)

    @app.get("/api/map", response_model=MapView)
    async def console_map(who: Who, caller: Caller, request: Request) -> Any:
        cells = visible_cells(request, caller)
        return await map_view(who, engine, registry, settings, cells, caller.scope)
