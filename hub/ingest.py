"""Alerts from the bus into the store, then into incidents, then to live pages. Acknowledged after
the durable writes: the handler returns only once the alert and its incident are committed. A
redelivered alert (the hub died before acknowledging) is stored and merged idempotently."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from hub import failpoints
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
        try:
            alert = Alert.model_validate_json(data)
        except ValidationError as error:
            # Retrying cannot fix it: keep it in the dead-letter stream for a person to look at.
            self.malformed += 1
            await self._bus.publish(dead_letter_stream(STREAM_ALERTS), data)
            log.warning("malformed alert message dead-lettered (%d errors)", error.error_count())
            return
        fresh = await self._store.upsert(alert)
        failpoints.hit("ingest.after_alert_write")
        if fresh:  # pages see the alert first, then the incident it joins
            self.stored += 1
            self._live.publish(alert)
        else:
            self.duplicates += 1
        if self._incidents is not None:  # also for a duplicate: the hub may have died before
            await self._incidents.on_alert(alert)
        failpoints.hit("ingest.before_ack")
