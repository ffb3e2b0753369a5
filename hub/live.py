"""Live push: every stored alert goes to each connected page; slow pages are dropped, not waited
for, so ingest never blocks on a browser."""

from __future__ import annotations

import asyncio
import logging

from hub.contracts import Alert
from hub.lifecycle import Incident

log = logging.getLogger("xueliang.hub.live")

CLIENT_QUEUE_SIZE = 256


class LiveFeed:
    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[str | None]] = set()

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE_SIZE)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._clients.discard(queue)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, alert: Alert) -> None:
        self._send('{"type":"alert","alert":' + alert.model_dump_json() + "}")

    def publish_incident(self, incident: Incident) -> None:
        """The incident as it is after a change (pages replace theirs by id and version)."""
        self._send('{"type":"incident","incident":' + incident.model_dump_json() + "}")

    def _send(self, message: str) -> None:
        for queue in list(self._clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("dropping a live client that fell %d messages behind", queue.qsize())
                self._clients.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)  # tells the socket loop to close
