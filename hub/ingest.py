"""Alerts from the bus into the store, then to live pages. Acknowledged after the durable write:
the handler returns only once the store has committed."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from hub.contracts import STREAM_ALERTS, Alert
from hub.live import LiveFeed
from hub.store import AlertStore
from xueliang.bus import Bus, dead_letter_stream

log = logging.getLogger("xueliang.hub.ingest")


class AlertIngest:
    def __init__(self, store: AlertStore, live: LiveFeed, bus: Bus) -> None:
        self._bus = bus
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
        if await self._store.upsert(alert):
            self.stored += 1
            self._live.publish(alert)
        else:
            self.duplicates += 1
