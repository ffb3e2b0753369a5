"""The open incidents a batch of alerts may merge into, read from indexed columns, and the guard
that keeps two writers from opening two incidents for one place.

Linking plans on candidates it read before its transaction. Another hub (or another consumer in
this one) may open an incident at the same place in between; the compare-and-set on versions
cannot see that, because neither writer touched a row the other read. So a transaction that
opens incidents reads the candidates again after it holds the writers' lock (SQLite's write
lock; on PostgreSQL an advisory lock) and gives up (`StaleIncidentError`) when one of them now
takes an alert that the plan sent to a new incident: the retry merges into it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.contracts import GeoPoint
from hub.db import IncidentRow, chunks, minute_of, utc
from hub.merging import MergeCandidate

_KEYS_PER_QUERY = 2000  # bound parameters per query: far below SQLite's and PostgreSQL's limits


@dataclass(frozen=True)
class CandidateQuery:
    """Open incidents of `kinds` updated at or after `since`, in one of `cells` or with their
    first alert in one of `tiles` (`hub.merging.tiles_near`)."""

    kinds: Sequence[str]
    since: datetime
    cells: Collection[str]
    tiles: Collection[str]


@dataclass(frozen=True)
class OpenGuard:
    """Checked inside the transaction that opens incidents. `taken_elsewhere` gets the
    candidates written by others (the transaction's own incidents left out) and names one that
    would have taken an alert the plan opened a new incident for, or returns None."""

    query: CandidateQuery
    taken_elsewhere: Callable[[Sequence[MergeCandidate]], str | None]


async def read_candidates(
    connection: AsyncConnection, query: CandidateQuery
) -> list[MergeCandidate]:
    """Columns, no bodies: one indexed query per few thousand cells or tiles."""
    if not query.kinds or not (query.cells or query.tiles):
        return []
    found: dict[str, MergeCandidate] = {}
    places = [(_BY_CELL, part) for part in chunks(sorted(query.cells), _KEYS_PER_QUERY)]
    places += [(_BY_TILE, part) for part in chunks(sorted(query.tiles), _KEYS_PER_QUERY)]
    since = query.since.astimezone(UTC)
    for statement, keys in places:
        params = {"kinds": list(query.kinds), "since": since, "keys": list(keys),
                  "since_minute": minute_of(since)}  # fmt: skip
        for row in (await connection.execute(statement, params)).all():
            if row.id not in found:  # in one of the cells and near one of the tiles
                found[row.id] = _candidate(row)
    return list(found.values())


def _candidates_by(column: Any) -> Executable:
    """One cached statement: the key lists bind as expanding IN parameters."""
    return select(
        IncidentRow.id, IncidentRow.kind, IncidentRow.grid_cell, IncidentRow.lat,
        IncidentRow.lon, IncidentRow.updated_at, IncidentRow.version,
    ).where(
        IncidentRow.is_open.is_(True), column.in_(bindparam("keys", expanding=True)),
        IncidentRow.kind.in_(bindparam("kinds", expanding=True)),
        IncidentRow.updated_minute >= bindparam("since_minute"),  # indexed, whole minutes
        IncidentRow.updated_at >= bindparam("since"),
    )  # fmt: skip


_BY_CELL = _candidates_by(IncidentRow.grid_cell)
_BY_TILE = _candidates_by(IncidentRow.tile)


def _candidate(row: Row[Any]) -> MergeCandidate:
    # Validated when the incident was written: built without validating again (per row, per batch).
    where = (None if row.lat is None or row.lon is None
             else GeoPoint.model_construct(lat=row.lat, lon=row.lon))  # fmt: skip
    return MergeCandidate(id=row.id, kind=row.kind, grid_cell=row.grid_cell, location=where,
                          updated_at=utc(row.updated_at), version=row.version)  # fmt: skip
