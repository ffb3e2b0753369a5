"""The message bus: small messages (alerts, health, heartbeats) between workers and the hub.

Two implementations share one contract (`Bus`):

- `InProcessBus` (this module): asyncio only, for embedded mode (hub and worker in one process)
  and tests. Nothing survives the process.
- `RedisStreamsBus` (`xueliang.bus.redis_streams`): Redis Streams with consumer groups, for
  separate processes and machines. The only module in the repository that imports `redis`.

Delivery semantics, identical for both:

- `publish(stream, data)` appends to the stream and returns the message id.
- Retention: a message stays until every group on its stream has acknowledged it, then it is
  trimmed (at once in process; on Redis by the consumers, every `trim_interval_s`, with
  XTRIM MINID at the oldest message some group still needs). A stream no group reads yet keeps
  everything. `maxlen` (default 200 000, approximate on Redis) is only a safety cap against a
  group that stopped for good: past it the oldest messages go, read or not, and a group that
  loses unread ones logs it. A hub that restarts or falls behind therefore loses nothing, while
  a stream that is read keeps only its backlog.
- `consume(stream, group, consumer, handler, stop=...)` runs until `stop` is set. Every group sees
  every message; within a group each message goes to one consumer. A group created by its first
  consumer starts at the oldest retained message.
- A message is acknowledged only after `handler(data)` returned. If the handler raises, the
  message stays pending and is delivered again after `retry_delay_s`. After `max_deliveries`
  (5) failed deliveries it is appended to the dead-letter stream `f"{stream}:dead"` and
  acknowledged. Handlers must therefore be idempotent (at-least-once delivery).
- `consume_batch(..., batch_handler, stop=..., max_batch=N)` hands the handler up to N new
  messages at once (what is there: it never waits to fill a batch) and acknowledges them all
  after it returned, so a consumer pays one durable write per batch, not per message. If a batch
  of several raises, each of its messages is then handled alone (`batch_handler([data])`), as
  `consume` would: one bad message cannot hold back the rest, and only those lone tries count
  towards `max_deliveries`. Redeliveries always come alone. `consume` is `consume_batch` with
  batches of one.
- `stop` lets the handler in progress finish (and the rest of its batch); `stop` never cancels it.
- `backlog(stream, group)`: messages the group has not acknowledged yet (unread and pending).
- `retained(stream)`: messages the stream holds now (what some group still needs, plus, on
  Redis, what the next trim will drop).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

__all__ = [
    "DEFAULT_MAXLEN",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_DELIVERIES",
    "BatchHandler",
    "Bus",
    "BusError",
    "BusUnavailableError",
    "Handler",
    "InProcessBus",
    "bus_kind",
    "dead_letter_stream",
    "make_bus",
    "one_by_one",
]

log = logging.getLogger("xueliang.bus")

Handler = Callable[[bytes], Awaitable[None]]
BatchHandler = Callable[[list[bytes]], Awaitable[None]]

DEFAULT_MAXLEN = 200_000
DEFAULT_MAX_BATCH = 100
DEFAULT_MAX_DELIVERIES = 5
DEFAULT_RETRY_DELAY_S = 0.5


class BusError(Exception):
    """Base of the bus's own errors."""


class BusUnavailableError(BusError):
    """The broker cannot be reached right now (transient: retry later)."""


class Bus(Protocol):
    async def publish(self, stream: str, data: bytes) -> str: ...

    async def consume(
        self,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        stop: asyncio.Event,
    ) -> None: ...

    async def consume_batch(
        self,
        stream: str,
        group: str,
        consumer: str,
        batch_handler: BatchHandler,
        *,
        stop: asyncio.Event,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None: ...

    async def backlog(self, stream: str, group: str) -> int: ...

    async def retained(self, stream: str) -> int: ...

    async def close(self) -> None: ...


def dead_letter_stream(stream: str) -> str:
    return f"{stream}:dead"


def one_by_one(handler: Handler) -> BatchHandler:
    """A per-message handler as a batch handler (for `consume`, whose batches hold one)."""

    async def handle(batch: list[bytes]) -> None:
        for data in batch:
            await handler(data)

    return handle


def check_max_batch(max_batch: int) -> None:
    if max_batch < 1:
        raise ValueError("max_batch must be >= 1")


def bus_kind(bus: Bus) -> str:
    """A short name for health pages: "inprocess", "redis", or the class name of a fake."""
    kind = getattr(bus, "kind", None)
    return kind if isinstance(kind, str) else type(bus).__name__


def make_bus(redis_url: str | None, *, claim_idle_ms: int = 30_000) -> Bus:
    """`InProcessBus` when `redis_url` is None, else a `RedisStreamsBus` on that server
    (`claim_idle_ms`: when a dead consumer's unacknowledged messages are taken over)."""
    if redis_url is None:
        return InProcessBus()
    from xueliang.bus.redis_streams import RedisStreamsBus

    return RedisStreamsBus(redis_url, claim_idle_ms=claim_idle_ms)


@dataclass
class _Pending:
    seq: int
    data: bytes
    deliveries: int = 0
    in_flight: bool = False
    not_before: float = 0.0


@dataclass
class _Group:
    next_seq: int
    pending: dict[int, _Pending] = field(default_factory=dict)

    def oldest_needed(self) -> int:
        """The first sequence number this group has not acknowledged yet."""
        return min(self.pending, default=self.next_seq)


@dataclass
class _Stream:
    log: deque[tuple[int, bytes]]
    next_seq: int = 1
    groups: dict[str, _Group] = field(default_factory=dict)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def first_seq(self) -> int:
        return self.log[0][0] if self.log else self.next_seq

    def notify(self) -> None:
        self.wakeup.set()
        self.wakeup = asyncio.Event()

    def trim_acknowledged(self) -> None:
        """Drops the messages every group has acknowledged (none while no group exists)."""
        if not self.groups:
            return
        needed = min(g.oldest_needed() for g in self.groups.values())
        while self.log and self.log[0][0] < needed:
            self.log.popleft()


class InProcessBus:
    """The bus inside one process. Memory is bounded: each stream keeps the messages some
    group has not acknowledged yet, at most `maxlen` of them, and pending (unacknowledged)
    messages are at most the ones being handled plus the failed ones waiting for their next
    try, each of which ends in the dead-letter stream after `max_deliveries`.

    Written here rather than taken from a library because it must mirror the Redis Streams
    semantics exactly (groups, pending, redelivery, dead letters) in a few dozen lines.
    """

    kind: ClassVar[str] = "inprocess"

    def __init__(
        self,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
    ) -> None:
        if maxlen < 1 or max_deliveries < 1 or retry_delay_s < 0:
            raise ValueError("maxlen and max_deliveries must be >= 1, retry_delay_s >= 0")
        self.maxlen = maxlen
        self.retry_delay_s = retry_delay_s
        self.max_deliveries = max_deliveries
        self._streams: dict[str, _Stream] = {}
        self._closed = False

    def _stream(self, name: str) -> _Stream:
        if name not in self._streams:
            self._streams[name] = _Stream(log=deque())
        return self._streams[name]

    async def publish(self, stream: str, data: bytes) -> str:
        if self._closed:
            raise BusError("bus is closed")
        s = self._stream(stream)
        seq = s.next_seq
        s.next_seq += 1
        if len(s.log) >= self.maxlen:
            s.log.popleft()  # the safety cap: a group this far behind has stopped for good
        s.log.append((seq, bytes(data)))
        s.notify()
        return f"{seq}-0"

    async def consume(
        self,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        stop: asyncio.Event,
    ) -> None:
        await self.consume_batch(
            stream, group, consumer, one_by_one(handler), stop=stop, max_batch=1
        )

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
        check_max_batch(max_batch)
        s = self._stream(stream)
        g = s.groups.setdefault(group, _Group(next_seq=s.first_seq))
        while not stop.is_set() and not self._closed:
            due = self._take_due(g)
            batch = [due] if due is not None else self._take_new(s, g, group, max_batch)
            if not batch:
                await self._wait(s, g, stop)
                continue
            try:
                if len(batch) == 1 or not await self._deliver_batch(g, batch, batch_handler):
                    for entry in batch:  # alone, so that one bad message cannot block the rest
                        await self._deliver(stream, group, consumer, g, entry, batch_handler)
            except asyncio.CancelledError:
                for entry in batch:  # the consumer went away: another one takes them over
                    entry.in_flight = False
                raise
            s.trim_acknowledged()

    async def backlog(self, stream: str, group: str) -> int:
        s = self._stream(stream)
        g = s.groups.get(group)
        if g is None:
            return len(s.log)
        return max(0, s.next_seq - max(g.next_seq, s.first_seq)) + len(g.pending)

    async def retained(self, stream: str) -> int:
        return len(self._stream(stream).log)

    async def close(self) -> None:
        self._closed = True
        for s in self._streams.values():
            s.notify()

    def _take_due(self, g: _Group) -> _Pending | None:
        now = time.monotonic()
        for entry in g.pending.values():
            if not entry.in_flight and entry.not_before <= now:
                return entry
        return None

    def _take_new(self, s: _Stream, g: _Group, group: str, count: int) -> list[_Pending]:
        if g.next_seq < s.first_seq:
            log.warning(
                "group %s lost %d unread messages to the maxlen cap", group,
                s.first_seq - g.next_seq,
            )
            g.next_seq = s.first_seq
        taken: list[_Pending] = []
        while g.next_seq < s.next_seq and len(taken) < count:
            seq, data = s.log[g.next_seq - s.first_seq]
            g.next_seq = seq + 1
            entry = _Pending(seq=seq, data=data, in_flight=True)
            g.pending[seq] = entry
            taken.append(entry)
        return taken

    async def _wait(self, s: _Stream, g: _Group, stop: asyncio.Event) -> None:
        waiting = [e.not_before for e in g.pending.values() if not e.in_flight]
        timeout = max(0.0, min(waiting) - time.monotonic()) if waiting else None
        waiters = {
            asyncio.ensure_future(s.wakeup.wait()),
            asyncio.ensure_future(stop.wait()),
        }
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _deliver_batch(
        self, g: _Group, batch: list[_Pending], batch_handler: BatchHandler
    ) -> bool:
        """True when the handler took the whole batch (then acknowledged); False when it raised
        (not counted as a delivery: each message is then tried alone)."""
        try:
            await batch_handler([entry.data for entry in batch])
        except Exception as exc:
            log.warning("batch handler failed on %d messages (%s); handling them one by one",
                        len(batch), type(exc).__name__)  # fmt: skip
            return False
        for entry in batch:
            del g.pending[entry.seq]
        return True

    async def _deliver(
        self,
        stream: str,
        group: str,
        consumer: str,
        g: _Group,
        entry: _Pending,
        batch_handler: BatchHandler,
    ) -> None:
        entry.deliveries += 1
        entry.in_flight = True
        try:
            await batch_handler([entry.data])
        except Exception as exc:
            entry.in_flight = False
            log.warning(
                "handler failed on %s id=%d-0 group=%s consumer=%s delivery=%d: %s",
                stream, entry.seq, group, consumer, entry.deliveries, type(exc).__name__,
            )
            if entry.deliveries >= self.max_deliveries:
                await self.publish(dead_letter_stream(stream), entry.data)
                del g.pending[entry.seq]
                log.error("moved %s id=%d-0 to %s", stream, entry.seq, dead_letter_stream(stream))
            else:
                entry.not_before = time.monotonic() + self.retry_delay_s
        else:
            del g.pending[entry.seq]
