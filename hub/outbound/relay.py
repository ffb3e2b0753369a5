"""The relay: delivers outbox entries to one sink, at least once and in order.

It reads the entries after the sink's cursor, delivers them one by one and records its progress
in the outbox, so a restarted hub or a receiver back from an outage carries on where it stopped.
A failed entry is retried (with backoff) before any later one: order per sink is kept, and no
entry is ever skipped. A long outage is not silent: a warning at the first failure, again every
`Alarm.every_s` (5 min) while it lasts, and at ERROR level once it has lasted
`Alarm.escalate_after_s` (24 h).

Hand-written retry loop rather than stamina/tenacity: the retry never gives up, its sleep must
end at once on stop, and progress is saved before each pause; a library would add nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.outbound import DeliveryError, Sink
from hub.outbox import Outbox, OutboxEntry

log = logging.getLogger("xueliang.hub.outbound")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `base_s` doubling to `cap_s`, each delay scaled by 1 ± `jitter`."""

    base_s: float = 0.5
    cap_s: float = 30.0
    jitter: float = 0.2

    def delay_s(self, attempt: int, rand: float) -> float:
        """Pause before retry number `attempt` (0: the first); `rand` uniform in [0, 1)."""
        raw_s = self.base_s * 2.0 ** min(attempt, 32)
        return min(self.cap_s, raw_s) * (1 + self.jitter * (2 * rand - 1))


@dataclass(frozen=True)
class Alarm:
    """When a failing sink is logged: first failure, then every `every_s`, ERROR after a day."""

    every_s: float = 300.0
    escalate_after_s: float = 24 * 3600.0

    def level(self, failing_for_s: float, since_logged_s: float | None) -> int | None:
        """The log level for this failure, None for silence. `since_logged_s`: None when this
        failure streak has not been logged yet."""
        if since_logged_s is not None and since_logged_s < self.every_s:
            return None
        return logging.ERROR if failing_for_s >= self.escalate_after_s else logging.WARNING


@dataclass
class RelayStats:
    delivered: int = 0
    failures: int = 0
    cursor: int = 0  # the last id delivered
    head_at: datetime | None = None  # created_at of the oldest entry not yet delivered

    def lag_s(self, now: datetime) -> float:
        """Age of the oldest undelivered entry (0 when caught up); `now` as the outbox's clock."""
        return 0.0 if self.head_at is None else max(0.0, (now - self.head_at).total_seconds())


class Relay:
    """Feeds one sink from the outbox. `run(stop)` until stop; `wake()` after a write."""

    def __init__(
        self,
        outbox: Outbox,
        sink: Sink,
        *,
        batch: int = 100,
        poll_s: float = 0.5,
        backoff: Backoff | None = None,
        alarm: Alarm | None = None,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if batch < 1 or poll_s <= 0:
            raise ValueError("batch must be >= 1 and poll_s > 0")
        self.outbox = outbox
        self.sink = sink
        self.stats = RelayStats()
        self._batch = batch
        self._poll_s = poll_s
        self._backoff = backoff or Backoff()
        self._alarm = alarm or Alarm()
        self._clock = clock
        self._rand = rand
        self._wake = asyncio.Event()
        self._saved: int | None = None  # the cursor as the outbox has it; None: not read yet
        self._failing_since: float | None = None
        self._logged_at: float | None = None
        self._streak = 0

    def wake(self) -> None:
        """Deliver now rather than at the next poll (a change was just committed)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; closes the sink on the way out."""
        watcher = asyncio.create_task(self._wake_on(stop))
        try:
            while not stop.is_set():
                try:
                    full = await self._pump(stop)
                except Exception as error:  # the outbox (database) failed: back off, go on
                    await self._pause(stop, self._failed(None, error))
                    continue
                if not full:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_s)
        finally:
            watcher.cancel()
            with contextlib.suppress(Exception):
                await self._save()
            await self.sink.aclose()

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _pump(self, stop: asyncio.Event) -> bool:
        """Deliver one batch; True when it was full (more may be waiting)."""
        self._wake.clear()  # before reading: a wake during delivery is kept for the next round
        if self._saved is None:
            self._saved = await self.outbox.cursor(self.sink.name)
            self.stats.cursor = self._saved
        entries = await self.outbox.entries_after(self.stats.cursor, self._batch)
        for entry in entries:
            self.stats.head_at = entry.created_at
            if not await self._deliver(entry, stop):
                return False
        self.stats.head_at = None
        await self._save()
        return len(entries) == self._batch

    async def _deliver(self, entry: OutboxEntry, stop: asyncio.Event) -> bool:
        """Deliver `entry`, retrying until it is accepted (True) or stop is set (False)."""
        while not stop.is_set():
            try:
                await self.sink.deliver(entry)
            except Exception as error:
                delay_s = self._failed(entry, error)
                await self._save()  # progress so far survives a crash while this one is stuck
                await self._pause(stop, delay_s)
                continue
            self._succeeded(entry)
            return True
        return False

    async def _save(self) -> None:
        if self._saved is not None and self.stats.cursor > self._saved:
            await self.outbox.advance(self.sink.name, self.stats.cursor)
            self._saved = self.stats.cursor

    async def _pause(self, stop: asyncio.Event, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay_s)

    def _succeeded(self, entry: OutboxEntry) -> None:
        self.stats.delivered += 1
        self.stats.cursor = entry.id
        if self._failing_since is not None:
            failing_for_s = self._clock() - self._failing_since
            log.info(
                "sink %s recovered: entry %d delivered after %.0f s and %d failed attempts",
                self.sink.name, entry.id, failing_for_s, self._streak,
            )  # fmt: skip
        self._failing_since = self._logged_at = None
        self._streak = 0

    def _failed(self, entry: OutboxEntry | None, error: Exception) -> float:
        """Count and maybe log a failure; the pause before the next try."""
        now_s = self._clock()
        self.stats.failures += 1
        self._streak += 1
        if self._failing_since is None:
            self._failing_since = now_s
        failing_for_s = now_s - self._failing_since
        since_logged_s = None if self._logged_at is None else now_s - self._logged_at
        level = self._alarm.level(failing_for_s, since_logged_s)
        if level is not None:
            self._logged_at = now_s
            what = f"entry {entry.id} ({entry.incident_id}) not delivered" if entry else "outbox"
            log.log(
                level,
                "sink %s: %s: %s; failing for %.0f s, %d attempts; retrying "
                "(entries are never skipped)",
                self.sink.name, what, _reason(error), failing_for_s, self._streak,
            )  # fmt: skip
        permanent = isinstance(error, DeliveryError) and error.permanent
        attempt = 1 << 16 if permanent else self._streak - 1  # a config error: wait the cap
        return self._backoff.delay_s(attempt, self._rand())


def _reason(error: Exception) -> str:
    """A loggable reason: DeliveryError's text is safe by contract; for anything else only the
    type (its text could hold anything, a secret included)."""
    if isinstance(error, DeliveryError):
        return error.reason
    return f"unexpected {type(error).__name__}"


class Relays:
    """One relay per sink, as the hub's lifespan runs them: `start()`, `wake()` after each
    committed change, `stop()` on shutdown (saves each cursor, closes each sink)."""

    def __init__(
        self,
        outbox: Outbox,
        sinks: list[Sink],
        *,
        batch: int = 100,
        poll_s: float = 0.5,
        backoff: Backoff | None = None,
    ) -> None:
        names = [sink.name for sink in sinks]
        if len(set(names)) != len(names):
            raise ValueError("sink names must be unique (each keys its own cursor)")
        self.relays = [
            Relay(outbox, sink, batch=batch, poll_s=poll_s, backoff=backoff) for sink in sinks
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for relay in self.relays:
            self._tasks.append(asyncio.create_task(relay.run(self._stop)))
            log.info("relay to sink %s started", relay.sink.name)

    def wake(self) -> None:
        for relay in self.relays:
            relay.wake()

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Stop; a delivery still in flight after `timeout_s` is cancelled (it is redone at the
        next start: the cursor only moves after success)."""
        self._stop.set()
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("relay stopped with %s", type(task.exception()).__name__)
        self._tasks.clear()
