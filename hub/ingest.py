"""Alerts from the bus into the store, then into incidents, then to live pages, a batch at a time.
Acknowledged after the durable writes: the handler returns only once the batch's alerts and their
incidents are committed (one transaction each). A redelivered alert (the hub died before
acknowledging) is stored and merged idempotently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import cast

from pydantic import ValidationError

from hub import failpoints
from hub.alert_linking import newest_per_id
from hub.contracts import STREAM_ALERTS, Alert
from hub.incidents import IncidentEngine
from hub.live import LiveFeed
from hub.store import AlertStore
from xueliang.bus import Bus, dead_letter_stream

log = logging.getLogger("xueliang.hub.ingest")


class AlertIngest:
    def __init__(
        self, store: AlertStore, live: LiveFeed, bus: Bus, incidents: IncidentEngine | None = None
    ) -> None:
        self._bus = bus
        self._incidents = incidents
        self._store = store
        self._live = live
        self.stored = 0
        self.duplicates = 0
        self.malformed = 0

    async def handle(self, data: bytes) -> None:
        await self.handle_batch([data])

    async def handle_batch(self, messages: list[bytes]) -> None:
        with self._live.holding():  # the batch's alerts and incidents leave as one frame
            await self._handle_batch(messages)

    async def _handle_batch(self, messages: list[bytes]) -> None:
        alerts = [alert for data in messages if (alert := await self._parse(data)) is not None]
        unique = newest_per_id(alerts)  # a newer revision in the same batch supersedes
        # The alerts and their incidents are written side by side, in two transactions on two
        # connections: linking reads and plans while the alert rows are written. The batch is
        # acknowledged only once both have committed; a redelivery redoes either idempotently.
        # When one fails the other still runs to its end: a transaction cancelled halfway
        # could leave its connection holding SQLite's write lock.
        writes: list[Awaitable[object]] = [self._write_alerts(alerts)]
        if self._incidents is not None:  # also for duplicates: the hub may have died
            writes.append(self._incidents.on_alerts(unique))
        results = await asyncio.gather(*writes, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed  # what failed, as the bus logs and counts it
        fresh = cast(set[str], results[0])
        for alert in unique:  # in the batch's frame, alerts come before their incidents
            if alert.id in fresh:
                self._live.publish(alert)
        self.stored += len(fresh)
        self.duplicates += len(alerts) - len(fresh)
        failpoints.hit("ingest.before_ack")

    async def _write_alerts(self, alerts: list[Alert]) -> set[str]:
        fresh = await self._store.upsert_many(alerts)  # every report: a point of the counts
        failpoints.hit("ingest.after_alert_write")
        return fresh

    async def _parse(self, data: bytes) -> Alert | None:
        try:
            return Alert.model_validate_json(data)
        except ValidationError as error:
            # Retrying cannot fix it: keep it in the dead-letter stream for a person to look at.
            self.malformed += 1
            await self._bus.publish(dead_letter_stream(STREAM_ALERTS), data)
            log.warning("malformed alert message dead-lettered (%d errors)", error.error_count())
            return None
