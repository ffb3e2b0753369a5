"""Fires stored deadlines: reads what is due from the database and feeds `deadline_missed` back
through the engine. Deadlines live in the database, not in memory, so a restarted hub fires what
fell due while it was down; two hubs firing the same deadline are harmless (the second finds it
already gone: a stale timer is a no-op in the state machine)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from hub.incident_errors import IncidentNotFoundError
from hub.incidents import IncidentEngine
from hub.lifecycle import Actor, DeadlineMissed, LifecycleError

log = logging.getLogger("xueliang.hub.scheduler")


class DeadlineScheduler:
    def __init__(self, engine: IncidentEngine, *, poll_s: float = 1.0, batch: int = 200) -> None:
        self._engine = engine
        self._poll_s = poll_s
        self._batch = batch
        self._wake = asyncio.Event()
        self.fired = 0  # deadlines that changed their incident
        self.failed = 0
        self._stuck = False  # the last tick left a due deadline unfired
        self._sleeping_until: datetime | None = None  # None: ticking, or about to

    def wake(self, earliest: datetime | None = None) -> None:
        """A new deadline may be earlier than the one being waited for: look again. With
        `earliest` (the changed incident's first deadline) only when it is due before the
        planned wake-up: at thousands of changes a second most are not, and each look is a
        database query."""
        until = self._sleeping_until
        if earliest is not None and until is not None and earliest >= until:
            return
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            busy = await self.tick()
            if busy:
                continue  # a full batch: more may be due
            await self._sleep(stop)

    async def tick(self) -> bool:
        """Fire what is due now; True when a full batch fired (more may be waiting)."""
        now = self._engine.now()
        due = await self._engine.store.due(now, self._batch)
        fired = 0
        for incident_id, kind, subject, due_at in due:
            event = DeadlineMissed(actor=Actor.system(), at=now, kind=kind, subject=subject,
                                   due_at=due_at)  # fmt: skip
            try:
                outcome = await self._engine.apply(incident_id, event)
            except (IncidentNotFoundError, LifecycleError) as error:
                self.failed += 1
                log.error("deadline %s of %s not fired: %s", kind.value, incident_id, error)
                continue
            fired += outcome.changed
        self.fired += fired
        self._stuck = len(due) > fired
        return len(due) >= self._batch and fired > 0

    async def _sleep(self, stop: asyncio.Event) -> None:
        self._wake.clear()  # before reading: a deadline stored from now on wakes this sleep
        next_at = await self._engine.store.next_due_at()
        wait_s = self._poll_s
        if next_at is not None and not self._stuck:  # a stuck one would make this a busy loop
            wait_s = min(wait_s, max(0.0, (next_at - self._engine.now()).total_seconds()))
        self._sleeping_until = self._engine.now() + timedelta(seconds=wait_s)
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        self._sleeping_until = None
        for waiter in waiters:
            waiter.cancel()
