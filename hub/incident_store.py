"""Incidents in the hub's database: the latest version, the append-only audit trail, the pending
deadlines (so timers survive a restart), the alert links (so ingest is idempotent by alert id) and
the outbox (so outside systems hear of every change), all written in one transaction per change.

Writes are compare-and-set on the incident's version: two hubs (or a route and the scheduler)
changing one incident at once cannot both win; the loser reads again and re-applies its event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.db import (
    AuditRow,
    DeadlineRow,
    IncidentAlertRow,
    IncidentRow,
    OutboxCursorRow,
    OutboxRow,
    chunks,
    utc,
)
from hub.incident_rows import (
    BULK_CAS,
    CAS_ROWS_PER_STATEMENT,
    CAS_UPDATE,
    bulk_cas_params,
    cas_values,
    columns_of,
)
from hub.lifecycle import AuditRecord, DeadlineKind, Incident, IncidentState, Outcome
from hub.merge_candidates import CandidateQuery, OpenGuard, read_candidates
from hub.merging import MergeCandidate
from hub.outbox import IncidentChange, OutboxEntry

_OUTBOX_LOCK = 0x786C_6F62  # "xlob": PostgreSQL commits outbox rows in id order under this lock
MAX_LIST = 500


@dataclass(frozen=True)
class IncidentWrite:
    """One incident's part of a transaction: its latest version, replacing `previous_version`
    (None: a new incident), with every audit record and change since then."""

    incident: Incident
    previous_version: int | None
    audit: Sequence[AuditRecord] = ()
    changes: Sequence[IncidentChange] = ()
    link_alerts: Sequence[str] = ()
    deadlines_changed: bool = True  # False: the deadline table already holds its deadlines


class StaleIncidentError(Exception):
    """The incident changed since it was read (or the alert was taken by another writer)."""


class IncidentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def get(self, incident_id: str) -> Incident | None:
        query = select(IncidentRow.body).where(IncidentRow.id == incident_id)
        async with self._engine.connect() as connection:
            body = (await connection.execute(query)).scalar_one_or_none()
        return None if body is None else Incident.model_validate_json(body)

    async def incident_of_alert(self, alert_id: str) -> str | None:
        query = select(IncidentAlertRow.incident_id).where(IncidentAlertRow.alert_id == alert_id)
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar_one_or_none()

    async def incidents_of_alerts(self, alert_ids: Sequence[str]) -> dict[str, str]:
        """Alert id -> the incident that took it, for those linked already."""
        if not alert_ids:
            return {}
        query = select(IncidentAlertRow.alert_id, IncidentAlertRow.incident_id).where(
            IncidentAlertRow.alert_id.in_(list(alert_ids))
        )
        async with self._engine.connect() as connection:
            return {row[0]: row[1] for row in (await connection.execute(query)).all()}

    async def merge_candidates(self, query: CandidateQuery) -> list[MergeCandidate]:
        async with self._engine.connect() as connection:
            return await read_candidates(connection, query)

    async def search(
        self,
        *,
        state: IncidentState | None = None,
        open_only: bool = False,
        kind: str | None = None,
        colour: str | None = None,
        grid_cells: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        """Newest change first."""
        # The minute first: its index finds the newest; within a minute, the exact time.
        query = select(IncidentRow.body).order_by(
            IncidentRow.updated_minute.desc(), IncidentRow.updated_at.desc(), IncidentRow.id
        )
        if state is not None:
            query = query.where(IncidentRow.state == state.value)
        if open_only:
            query = query.where(IncidentRow.is_open.is_(True))
        if kind is not None:
            query = query.where(IncidentRow.kind == kind)
        if colour is not None:
            query = query.where(IncidentRow.colour == colour)
        if grid_cells is not None:
            query = query.where(IncidentRow.grid_cell.in_(list(grid_cells)))
        return await self._incidents(query.limit(min(limit, MAX_LIST)))

    async def _incidents(self, query: object) -> list[Incident]:
        async with self._engine.connect() as connection:
            bodies = (await connection.execute(query)).scalars().all()  # type: ignore[call-overload]
        return [Incident.model_validate_json(body) for body in bodies]

    async def save(
        self,
        outcome: Outcome,
        *,
        previous_version: int | None,
        changes: Sequence[IncidentChange] = (),
        link_alerts: Sequence[str] = (),
    ) -> None:
        """Write an accepted outcome. `previous_version` None creates the incident. Raises
        StaleIncidentError when the stored version moved on, the id exists, or an alert in
        `link_alerts` is already linked (nothing is written then)."""
        write = IncidentWrite(outcome.incident, previous_version, outcome.audit, changes,
                              link_alerts)  # fmt: skip
        await self.save_many([write])

    async def save_many(
        self, writes: Sequence[IncidentWrite], guard: OpenGuard | None = None
    ) -> None:
        """`save` for several incidents in one transaction: all are written or none (then
        StaleIncidentError, as for `save`). Each incident appears once. `guard`: checked
        before the commit, under the writers' lock (`hub.merge_candidates`)."""
        if not writes:
            return
        try:
            async with self._engine.begin() as connection:
                await self._write_incidents(connection, writes)
                links = [{"alert_id": alert_id, "incident_id": write.incident.id}
                         for write in writes for alert_id in write.link_alerts]  # fmt: skip
                if links:
                    await connection.execute(insert(IncidentAlertRow), links)
                await self._append_audit(connection, [r for w in writes for r in w.audit])
                moved = [write.incident for write in writes if write.deadlines_changed]
                await self._replace_deadlines(connection, moved)
                await self._add_outbox(
                    connection, [(w.incident.id, c) for w in writes for c in w.changes]
                )
                if guard is not None:
                    await self._check(connection, guard, {w.incident.id for w in writes})
        except IntegrityError as error:
            ids = ", ".join(write.incident.id for write in writes[:3])
            raise StaleIncidentError(f"incident {ids} or an alert link exists") from error

    async def _check(
        self, connection: AsyncConnection, guard: OpenGuard, ours: Collection[str]
    ) -> None:
        # SQLite: this transaction has written, so it holds the write lock and reads the latest
        # commit. PostgreSQL: the lock serialises the writers that check until they commit
        # (the outbox took it already when the batch has changes, as an opening one has).
        await self._lock_writers(connection)
        found = await read_candidates(connection, guard.query)
        taken_by = guard.taken_elsewhere([c for c in found if c.id not in ours])
        if taken_by is not None:
            raise StaleIncidentError(f"incident {taken_by} was opened or changed meanwhile")

    async def _lock_writers(self, connection: AsyncConnection) -> None:
        """PostgreSQL: held until commit (taking it twice in one transaction is harmless)."""
        if self.dialect == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK}
            )

    async def _write_incidents(
        self, connection: AsyncConnection, writes: Sequence[IncidentWrite]
    ) -> None:
        new = [columns_of(w.incident) for w in writes if w.previous_version is None]
        if new:
            await connection.execute(insert(IncidentRow), new)
        # Compare-and-set: each update must match exactly one row (its id at the version read).
        updates = [cas_values(w.incident, w.previous_version)
                   for w in writes if w.previous_version is not None]  # fmt: skip
        if not updates:
            return
        if connection.dialect.supports_sane_multi_rowcount:  # SQLite: one executemany
            changed = await connection.execute(CAS_UPDATE, updates)
            if changed.rowcount != len(updates):
                raise StaleIncidentError("an incident of the batch changed since it was read")
            return
        # asyncpg counts no executemany: one UPDATE ... FROM unnest(arrays) per chunk of rows,
        # which names the rows it changed (was one statement, one round trip, per incident).
        for chunk in chunks(updates, CAS_ROWS_PER_STATEMENT):
            found = await connection.execute(BULK_CAS, bulk_cas_params(chunk))
            written = set(found.scalars())
            if len(written) != len(chunk):
                stale = next(row["b_id"] for row in chunk if row["b_id"] not in written)
                raise StaleIncidentError(f"incident {stale} changed since it was read")

    async def _append_audit(
        self, connection: AsyncConnection, records: Sequence[AuditRecord]
    ) -> None:
        rows = [
            {"incident_id": r.incident_id, "seq": r.seq, "at": r.at, "event": r.event,
             "body": r.model_dump_json()}
            for r in records
        ]  # fmt: skip
        if rows:
            await connection.execute(insert(AuditRow), rows)

    async def _replace_deadlines(
        self, connection: AsyncConnection, incidents: Sequence[Incident]
    ) -> None:
        """The incidents' pending deadlines are the truth; the table mirrors them for the
        scheduler (a handful per incident, so rewriting them is cheap)."""
        if not incidents:
            return
        ids = [incident.id for incident in incidents]
        await connection.execute(delete(DeadlineRow).where(DeadlineRow.incident_id.in_(ids)))
        rows = [
            {"incident_id": incident.id, "kind": item.kind.value, "subject": item.subject or "",
             "due_at": item.due_at}
            for incident in incidents
            for item in incident.deadlines
        ]  # fmt: skip
        if rows:
            await connection.execute(insert(DeadlineRow), rows)

    async def _add_outbox(
        self, connection: AsyncConnection, changes: Sequence[tuple[str, IncidentChange]]
    ) -> None:
        if not changes:
            return
        # PostgreSQL's ids come from a sequence at insert time; serialising the writers until
        # commit keeps commit order = id order, so a reader past id N never misses a commit.
        await self._lock_writers(connection)
        now = datetime.now(UTC)
        rows = [
            {"incident_id": incident_id, "created_at": now, "body": change.model_dump_json()}
            for incident_id, change in changes
        ]
        await connection.execute(insert(OutboxRow), rows)

    async def audit(self, incident_id: str) -> list[AuditRecord]:
        query = (
            select(AuditRow.body).where(AuditRow.incident_id == incident_id).order_by(AuditRow.seq)
        )
        return await self._audit(query)

    async def audit_between(self, start: datetime, end: datetime) -> list[AuditRecord]:
        """Records with start <= at < end, in time order (for reports)."""
        query = (
            select(AuditRow.body)
            .where(AuditRow.at >= start.astimezone(UTC), AuditRow.at < end.astimezone(UTC))
            .order_by(AuditRow.at, AuditRow.incident_id, AuditRow.seq)
        )
        return await self._audit(query)

    async def audit_for(self, incident_ids: Sequence[str]) -> list[AuditRecord]:
        """Every record of these incidents, in seq order (reports need whole trails)."""
        if not incident_ids:
            return []
        query = (
            select(AuditRow.body)
            .where(AuditRow.incident_id.in_(list(incident_ids)))
            .order_by(AuditRow.incident_id, AuditRow.seq)
        )
        return await self._audit(query)

    async def incidents_during(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents alive at some time in [start, end): created before `end` and not closed
        before `start` (a report's population)."""
        query = select(IncidentRow.body).where(
            IncidentRow.created_at < end.astimezone(UTC),
            (IncidentRow.closed_at.is_(None)) | (IncidentRow.closed_at >= start.astimezone(UTC)),
        )
        return await self._incidents(query)

    async def _audit(self, query: object) -> list[AuditRecord]:
        async with self._engine.connect() as connection:
            bodies = (await connection.execute(query)).scalars().all()  # type: ignore[call-overload]
        return [AuditRecord.model_validate_json(body) for body in bodies]

    async def incidents_by_id(self, ids: Sequence[str]) -> list[Incident]:
        if not ids:
            return []
        return await self._incidents(select(IncidentRow.body).where(IncidentRow.id.in_(list(ids))))

    async def due(
        self, now: datetime, limit: int = 200
    ) -> list[tuple[str, DeadlineKind, str | None, datetime]]:
        """Pending deadlines due at or before `now`, earliest first."""
        query = (
            select(
                DeadlineRow.incident_id, DeadlineRow.kind, DeadlineRow.subject, DeadlineRow.due_at
            )
            .where(DeadlineRow.due_at <= now.astimezone(UTC))
            .order_by(DeadlineRow.due_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [(row[0], DeadlineKind(row[1]), row[2] or None, utc(row[3])) for row in rows]

    async def next_due_at(self) -> datetime | None:
        async with self._engine.connect() as connection:
            found = (await connection.execute(select(func.min(DeadlineRow.due_at)))).scalar()
        return None if found is None else utc(found)

    # --- the outbox protocol (hub.outbox.Outbox) ---------------------------------------------

    async def entries_after(self, cursor: int, limit: int) -> list[OutboxEntry]:
        query = select(OutboxRow).where(OutboxRow.id > cursor).order_by(OutboxRow.id).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            OutboxEntry(id=row.id, incident_id=row.incident_id, created_at=utc(row.created_at),
                        body=row.body)
            for row in rows
        ]  # fmt: skip

    async def cursor(self, sink: str) -> int:
        query = select(OutboxCursorRow.position).where(OutboxCursorRow.sink == sink)
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one_or_none() or 0)

    async def advance(self, sink: str, cursor: int) -> None:
        upsert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        statement = upsert(OutboxCursorRow).values(sink=sink, position=cursor)
        statement = statement.on_conflict_do_update(
            index_elements=[OutboxCursorRow.sink],
            set_={"position": func.max(OutboxCursorRow.position, statement.excluded.position)}
            if self.dialect == "sqlite"
            else {"position": func.greatest(OutboxCursorRow.position, statement.excluded.position)},
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
