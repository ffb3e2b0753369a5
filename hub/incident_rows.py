"""How an incident becomes its row in `incidents`, and the compare-and-set updates of a batch:
an executemany on SQLite (which counts the rows it changed), one statement of array parameters
per chunk of rows on PostgreSQL (asyncpg counts no executemany)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, column, func, update
from sqlalchemy.dialects.postgresql import ARRAY

from hub.db import IncidentRow, minute_of
from hub.lifecycle import Incident
from hub.merging import tile_of


def columns_of(incident: Incident) -> dict[str, Any]:
    where = incident.location
    return {
        "id": incident.id, "kind": incident.kind, "colour": incident.colour.value,
        "state": incident.state.value, "is_open": not incident.is_closed,
        "grid_cell": incident.grid_cell, "lat": where.lat if where else None,
        "lon": where.lon if where else None,
        "tile": tile_of(where.lat, where.lon) if where else None, "version": incident.version,
        "created_at": incident.created_at, "updated_at": incident.updated_at,
        "closed_at": incident.closed_at, "body": incident.model_dump_json(),
        "updated_minute": minute_of(incident.updated_at),
    }  # fmt: skip


_UPDATED = ("kind", "colour", "state", "is_open", "grid_cell", "lat", "lon", "tile", "version",
            "created_at", "updated_at", "closed_at", "body", "updated_minute")  # fmt: skip


def cas_values(incident: Incident, previous_version: int) -> dict[str, Any]:
    columns = columns_of(incident)
    return {"b_previous": previous_version, **{f"b_{k}": columns[k] for k in ("id", *_UPDATED)}}


CAS_UPDATE = (
    update(IncidentRow)
    .where(IncidentRow.id == bindparam("b_id"), IncidentRow.version == bindparam("b_previous"))
    .values({name: bindparam(f"b_{name}") for name in _UPDATED})
)
CAS_ROWS_PER_STATEMENT = 1000  # rows per statement: its arrays' length
_GIVEN = [("b_previous", Integer())] + [
    (f"b_{name}", IncidentRow.__table__.c[name].type) for name in ("id", *_UPDATED)
]
# One array parameter per column, unnested into rows: one statement text whatever the rows
# (a VALUES list would be compiled anew per batch size and per pattern of NULLs).
_GIVEN_ROWS = (
    func.unnest(*[bindparam(name, type_=ARRAY(kind)) for name, kind in _GIVEN])
    .table_valued(*[column(name, kind) for name, kind in _GIVEN])
    .render_derived(name="given")
)
BULK_CAS = (
    update(IncidentRow)
    .where(IncidentRow.id == _GIVEN_ROWS.c.b_id,
           IncidentRow.version == _GIVEN_ROWS.c.b_previous)
    .values({name: _GIVEN_ROWS.c[f"b_{name}"] for name in _UPDATED})
    .returning(IncidentRow.id)
)  # fmt: skip


def bulk_cas_params(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """PostgreSQL: UPDATE incidents SET ... FROM unnest(arrays) AS given WHERE id and version
    match RETURNING id, the rows still at the version read."""
    return {name: [row[name] for row in rows] for name, _kind in _GIVEN}
