"""Live push: every stored alert and every incident change goes to each connected page; slow pages
are dropped, not waited for, so ingest never blocks on a browser.

What is published within one turn of the event loop leaves as one frame,
`{"type":"batch","alerts":[...],"incidents":[...]}`: alerts in the order they were stored, then
each changed incident once, at its latest version (a page applies alerts first, then incidents,
replacing by id). At thousands of alerts a second that is one frame per ingested batch instead of
one per alert and console. Alerts are pushed without their people boxes: the page draws none
(the evidence snapshot has them drawn) and `GET /alerts/{id}` has the whole report. Incidents are
pushed with `alert_count` instead of their map of merged alerts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.contracts import Alert
from hub.lifecycle import Incident

log = logging.getLogger("xueliang.hub.live")

CLIENT_QUEUE_SIZE = 256  # frames
_PUSHED: Any = {"detections": {"boxes"}}  # left out of pushed alerts
_NOT_PUSHED_OF_INCIDENTS: Any = {"alerts"}


class LiveFeed:
    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._alerts: list[str] = []
        self._incidents: dict[str, Incident] = {}
        self._flush_due = False

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
        if self._clients:
            self._alerts.append(alert.model_dump_json(exclude=_PUSHED))
            self._flush_soon()

    def publish_incident(self, incident: Incident) -> None:
        """The incident as it is after a change."""
        if not self._clients:
            return
        queued = self._incidents.get(incident.id)
        if queued is None or incident.version >= queued.version:
            self._incidents[incident.id] = incident
        self._flush_soon()

    def _flush_soon(self) -> None:
        if self._flush_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a synchronous caller): send at once
            self.flush()
            return
        self._flush_due = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send what was published since the last frame, as one frame."""
        self._flush_due = False
        alerts, incidents = self._alerts, self._incidents
        self._alerts, self._incidents = [], {}
        if not (alerts or incidents) or not self._clients:
            return
        changed = ",".join(_pushed(incident) for incident in incidents.values())
        self._send('{"type":"batch","alerts":[' + ",".join(alerts) + '],"incidents":['
                   + changed + "]}")  # fmt: skip

    def _send(self, message: str) -> None:
        for queue in list(self._clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("dropping a live client that fell %d frames behind", queue.qsize())
                self._clients.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)  # tells the socket loop to close


def _pushed(incident: Incident) -> str:
    """The incident with its alert count instead of its alert map (which grows with every
    merged report, and which the page reads from `GET /api/incidents/{id}` when it needs it)."""
    body = incident.model_dump_json(exclude=_NOT_PUSHED_OF_INCIDENTS)
    return body[:-1] + f',"alert_count":{len(incident.alerts)}}}'
