"""Live push: every stored alert and every incident change goes to each connected page; slow pages
are dropped, not waited for, so ingest never blocks on a browser.

What is published within one turn of the event loop leaves as one frame,
`{"type":"batch","alerts":[...],"incidents":[...]}`: alerts in the order they were stored, then
each changed incident once, at its latest version (a page applies alerts first, then incidents,
replacing by id). An ingested batch holds its frame until it ends (`holding()`), so at
thousands of alerts a second that is one frame per batch instead of one per alert and console;
only what the batch's own task publishes is held, so an operator's change leaves at once.
Alerts are pushed without their people boxes: the page draws none (the evidence snapshot has
them drawn) and `GET /alerts/{id}` has the whole report. Incidents are pushed with
`alert_count` instead of their map of merged alerts. Fields that are null are left
out of both (a fifth of the bytes; the page reads a missing field as null): each frame goes to
every page, so its size is what sending costs.

Each connection sees only what its caller's grid scope covers: a scoped page gets the frame
without the alerts and incidents of other cells (and no frame when nothing is left); frames
are built once per distinct scope, not per page. A connection carries tags (its session, its
user) so that signing out or disabling a user ends its sockets at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from hub.access import Cells, in_scope
from hub.contracts import Alert
from hub.lifecycle import Incident

log = logging.getLogger("xueliang.hub.live")

CLIENT_QUEUE_SIZE = 256  # frames
_PUSHED: Any = {"detections": {"boxes"}}  # left out of pushed alerts
_NOT_PUSHED_OF_INCIDENTS: Any = {"alerts"}


@dataclass
class _Held:
    """What one `holding()` block published, kept back until the block ends."""

    alerts: list[tuple[str | None, str]] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)
    ended: bool = False  # a task started inside that outlives the block publishes as usual


class LiveFeed:
    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._cells: dict[asyncio.Queue[str | None], Cells] = {}
        self._tags: dict[asyncio.Queue[str | None], frozenset[str]] = {}
        self._alerts: list[tuple[str | None, str]] = []  # (grid cell, JSON)
        self._incidents: dict[str, Incident] = {}
        self._flush_due = False
        # The hold of the task publishing (and of the tasks it starts), if it holds: a route's
        # or the scheduler's change in another task is not kept back by an ingested batch.
        self._held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
            "live_held", default=None
        )
        self.cell_of: Callable[[Alert], str | None] = lambda alert: alert.grid_cell  # create_app

    def subscribe(
        self, cells: Cells = None, tags: Collection[str] = ()
    ) -> asyncio.Queue[str | None]:
        """`cells`: the grid cells this connection may hear of (None: all)."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE_SIZE)
        self._clients.add(queue)
        self._cells[queue] = cells
        self._tags[queue] = frozenset(tags)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._clients.discard(queue)
        self._cells.pop(queue, None)
        self._tags.pop(queue, None)

    def drop(self, tag: str) -> None:
        """Close every connection carrying `tag` (a signed-out session, a changed user)."""
        for queue in [q for q, tags in self._tags.items() if tag in tags]:
            self.close(queue)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, alert: Alert) -> None:
        if self._clients:
            body = alert.model_dump_json(exclude=_PUSHED, exclude_none=True)
            held = self._hold()
            (self._alerts if held is None else held.alerts).append((self.cell_of(alert), body))
            if held is None:
                self._flush_soon()

    def publish_incident(self, incident: Incident) -> None:
        """The incident as it is after a change."""
        if not self._clients:
            return
        held = self._hold()
        _keep_latest(self._incidents if held is None else held.incidents, incident)
        if held is None:
            self._flush_soon()

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Publish what this task (and the tasks it starts) publishes inside as one frame, at
        the end (an ingested batch's alerts and their incidents: one frame per page, not two).
        What other tasks publish meanwhile leaves as usual."""
        if self._hold() is not None:  # nested: the outer block sends it
            yield
            return
        held = _Held()
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            held.ended = True
            self._alerts.extend(held.alerts)
            for incident in held.incidents.values():
                _keep_latest(self._incidents, incident)
            if self._alerts or self._incidents:
                self._flush_soon()

    def _hold(self) -> _Held | None:
        held = self._held.get()
        return None if held is None or held.ended else held

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
        pushed = [(incident.grid_cell, _pushed(incident)) for incident in incidents.values()]
        frames: dict[Cells, str | None] = {}
        for queue in list(self._clients):
            cells = self._cells.get(queue)
            if cells not in frames:
                frames[cells] = _frame(cells, alerts, pushed)
            frame = frames[cells]
            if frame is not None:
                self._send(queue, frame)

    def _send(self, queue: asyncio.Queue[str | None], message: str) -> None:
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("dropping a live client that fell %d frames behind", queue.qsize())
            self.close(queue)

    def close(self, queue: asyncio.Queue[str | None]) -> None:
        """Unsubscribe and wake its socket loop with None; once (a closed queue is left be)."""
        if queue not in self._clients:
            return
        self.unsubscribe(queue)
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(None)  # tells the socket loop to close


def _keep_latest(incidents: dict[str, Incident], incident: Incident) -> None:
    queued = incidents.get(incident.id)
    if queued is None or incident.version >= queued.version:
        incidents[incident.id] = incident


def _frame(
    cells: Cells, alerts: list[tuple[str | None, str]], incidents: list[tuple[str | None, str]]
) -> str | None:
    """One frame of what `cells` covers; None when that is nothing."""
    seen_alerts = [body for cell, body in alerts if in_scope(cells, cell)]
    seen_incidents = [body for cell, body in incidents if in_scope(cells, cell)]
    if cells is not None and not (seen_alerts or seen_incidents):
        return None
    return ('{"type":"batch","alerts":[' + ",".join(seen_alerts) + '],"incidents":['
            + ",".join(seen_incidents) + "]}")  # fmt: skip


def _pushed(incident: Incident) -> str:
    """The incident with its alert count instead of its alert map (which grows with every
    merged report, and which the page reads from `GET /api/incidents/{id}` when it needs it)."""
    body = incident.model_dump_json(exclude=_NOT_PUSHED_OF_INCIDENTS, exclude_none=True)
    return body[:-1] + f',"alert_count":{len(incident.alerts)}}}'
