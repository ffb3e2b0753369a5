"""Prototype, for `bench/hub.py` only: batched alert ingest, to measure what issue 5's throughput
target needs before `hub/ingest.py`, `hub/store.py` and `hub/live.py` change. The product does
not import this module.

- `upsert_many(engine, alerts)`: one `INSERT ... VALUES (...), (...) ON CONFLICT (id) DO UPDATE
  ... WHERE alerts.revision < excluded.revision RETURNING id` in one transaction, so a batch is
  durable (committed) before the bus acknowledges it; the ids returned are the fresh ones.
- `BatchIngest.handle_batch(messages)`: parse each (a malformed one is dead-lettered, as today),
  keep the newest revision of each id within the batch (PostgreSQL refuses to update one row
  twice in one statement), `upsert_many`, optionally the incident engine per alert, then one live
  message for the batch's fresh alerts.
- `publish_batch(live, alerts)`: one WebSocket frame `{"type":"alerts","alerts":[...]}` per batch
  and console instead of one per alert: the page would read both shapes. `slim_live` leaves the
  people boxes out of what is pushed (the page shows none; the snapshot has them drawn).
- `create_batched_app(...)`: `create_app` as it is, with the alert stream consumed in batches
  (`consume_batch`) by `BatchIngest` or, for a per-message baseline, by today's `AlertIngest`
  without the incident engine; a bus wrapper swaps the handler, so no hub file is patched.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.contracts import STREAM_ALERTS, Alert
from hub.db import AlertRow
from hub.incidents import IncidentEngine
from hub.ingest import AlertIngest
from hub.live import LiveFeed
from hub.settings import HubSettings
from hub.store import AlertStore
from xueliang.bus import DEFAULT_MAX_BATCH, BatchHandler, Bus, Handler, dead_letter_stream

log = logging.getLogger("xueliang.bench.batch_ingest")


_COLUMNS = ("id", "revision", "camera_id", "kind", "level", "status", "started_at", "updated_at",
            "body")  # fmt: skip


def _row(alert: Alert, body: str) -> dict[str, Any]:
    return {
        "id": alert.id, "revision": alert.revision, "camera_id": alert.camera_id,
        "kind": alert.kind.value, "level": alert.level.value, "status": alert.status.value,
        "started_at": alert.started_at, "updated_at": alert.updated_at,
        "body": body,
    }  # fmt: skip


async def upsert_many(engine: AsyncEngine, alerts: list[tuple[Alert, str]]) -> set[str]:
    """The ids stored (new, or newer than the stored revision); one commit for all. `alerts`:
    each with its JSON (serialised once, for the row and the live push), each id once. One
    cached statement run as an executemany, which SQLAlchemy sends as multi-row INSERTs
    ("insertmanyvalues") without compiling a statement per batch size."""
    if not alerts:
        return set()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(AlertRow)
    upsert = statement.on_conflict_do_update(
        index_elements=[AlertRow.id],
        set_={key: statement.excluded[key] for key in _COLUMNS if key != "id"},
        where=AlertRow.revision < statement.excluded.revision,
    ).returning(AlertRow.id)
    async with engine.begin() as connection:
        rows = [_row(alert, body) for alert, body in alerts]
        result = await connection.execute(upsert, rows)
        return set(result.scalars())


def newest_per_id(alerts: list[Alert]) -> list[Alert]:
    newest: dict[str, Alert] = {}
    for alert in alerts:
        kept = newest.get(alert.id)
        if kept is None or alert.revision > kept.revision:
            newest[alert.id] = alert
    return list(newest.values())


def publish_batch(live: LiveFeed, bodies: list[str]) -> None:
    """`LiveFeed.publish` for a batch of alerts (their JSON): one message, one frame each."""
    if bodies:  # prototype: LiveFeed's own sender (drops a client that fell behind)
        live._send('{"type":"alerts","alerts":[' + ",".join(bodies) + "]}")


_NO_BOXES: Any = {"detections": {"boxes"}}


class BatchIngest:
    def __init__(
        self,
        store: AlertStore,
        live: LiveFeed,
        bus: Bus,
        incidents: IncidentEngine | None,
        slim_live: bool = False,
    ) -> None:
        self._store, self._live, self._bus, self._incidents = store, live, bus, incidents
        self._slim_live = slim_live
        self.stored = 0
        self.duplicates = 0
        self.malformed = 0

    async def handle_batch(self, messages: list[bytes]) -> None:
        alerts: list[Alert] = []
        for data in messages:
            try:
                alerts.append(Alert.model_validate_json(data))
            except ValidationError:
                self.malformed += 1
                await self._bus.publish(dead_letter_stream(STREAM_ALERTS), data)
        unique = [(alert, alert.model_dump_json()) for alert in newest_per_id(alerts)]
        fresh = await upsert_many(self._store.engine, unique)
        if self._incidents is not None:
            for alert, _body in unique:  # per alert, as today's engine takes them
                await self._incidents.on_alert(alert)
        stored = [(alert, body) for alert, body in unique if alert.id in fresh]
        self.stored += len(stored)
        self.duplicates += len(alerts) - len(stored)
        if self._slim_live:
            publish_batch(self._live, [a.model_dump_json(exclude=_NO_BOXES) for a, _ in stored])
        else:
            publish_batch(self._live, [body for _alert, body in stored])


class _AlertsConsumedBy:
    """The hub's bus, with the alert stream's consumer swapped for `handler`."""

    def __init__(self, bus: Bus, max_batch: int) -> None:
        self.inner, self.max_batch = bus, max_batch
        self.kind = getattr(bus, "kind", "bench")
        self.batch_handler: BatchHandler | None = None
        self.handler: Handler | None = None

    async def publish(self, stream: str, data: bytes) -> str:
        return await self.inner.publish(stream, data)

    async def consume(
        self, stream: str, group: str, consumer: str, handler: Handler, *, stop: asyncio.Event
    ) -> None:
        if stream == STREAM_ALERTS and self.batch_handler is not None:
            await self.inner.consume_batch(
                stream, group, consumer, self.batch_handler, stop=stop, max_batch=self.max_batch
            )
        else:
            swapped = self.handler if stream == STREAM_ALERTS and self.handler else handler
            await self.inner.consume(stream, group, consumer, swapped, stop=stop)

    async def consume_batch(
        self,
        stream: str,
        group: str,
        consumer: str,
        batch_handler: BatchHandler,
        *,
        stop: asyncio.Event,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        await self.inner.consume_batch(
            stream, group, consumer, batch_handler, stop=stop, max_batch=max_batch
        )

    async def backlog(self, stream: str, group: str) -> int:
        return await self.inner.backlog(stream, group)

    async def close(self) -> None:
        await self.inner.close()


def create_batched_app(
    settings: HubSettings,
    bus: Bus,
    store: AlertStore,
    *,
    batched: bool = True,
    with_incidents: bool = False,
    max_batch: int = DEFAULT_MAX_BATCH,
    slim_live: bool = False,
) -> FastAPI:
    """`batched=False`: today's per-message `AlertIngest` without incidents (the baseline)."""
    wrapper = _AlertsConsumedBy(bus, max_batch)
    app = create_app(settings, wrapper, store)
    live: LiveFeed = app.state.live
    if batched:
        engine = getattr(app.state.ingest, "_incidents", None) if with_incidents else None
        ingest = BatchIngest(store, live, bus, engine, slim_live)
        wrapper.batch_handler = ingest.handle_batch
    else:
        wrapper.handler = AlertIngest(store, live, bus).handle
    return app
