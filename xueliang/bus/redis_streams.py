"""`RedisStreamsBus`: the bus on Redis Streams (redis-py asyncio). The only import of `redis`.

One stream per topic; each entry has one field `data` holding the message body. Consumer groups
give each message to one consumer of a group, and every group sees every message.

- New messages: XREADGROUP `>` with a block timeout (raced against `stop`).
- Acknowledgement: XACK only after the handler returned; one XACK for a batch
  (`consume_batch`), whose messages are handled alone (XACK each) if the batch handler raises.
- Handler failure: the entry stays in this consumer's pending list; after `retry_delay_s` the
  same consumer takes it again (XPENDING to check it still owns it, then XCLAIM, which raises the
  delivery count).
- Dead consumers: XAUTOCLAIM takes over entries idle longer than `claim_idle_ms`, from any
  consumer of the group. `claim_idle_ms` must exceed the longest time a batch of handlers may
  take, or a slow live consumer's entries are taken over too (still at-least-once, not lost).
- Dead letters: after `max_deliveries` failed deliveries (delivery count from XPENDING or the
  claim), the entry is added to `f"{stream}:dead"` and acknowledged in one MULTI transaction.
  An entry claimed with a count above `max_deliveries` (its consumers died handling it) goes
  there without being handled again.
- Trimming: every `trim_interval_s` a consumer loop trims the entries every group of its stream
  has acknowledged (`trim_acknowledged`); XADD's MAXLEN is only the safety cap.
- Redis gone: the consume loop logs, backs off (0.2 s doubling to 5 s, jittered) and
  reconnects; the group is created again if the server lost it. `publish` raises
  `BusUnavailableError`.
- `close()`: as on `InProcessBus`, running `consume` calls return and `publish` raises `BusError`.

Message bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, ClassVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from xueliang.bus import (
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAXLEN,
    DEFAULT_RETRY_DELAY_S,
    BatchHandler,
    BusError,
    BusUnavailableError,
    Handler,
    check_max_batch,
    dead_letter_stream,
    one_by_one,
)

log = logging.getLogger("xueliang.bus.redis")

_FIELD = b"data"
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
Entry = tuple[bytes, dict[bytes, bytes]]


class RedisStreamsBus:
    kind: ClassVar[str] = "redis"

    def __init__(
        self,
        url: str,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        batch: int = 16,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        trim_interval_s: float = 5.0,
    ) -> None:
        if min(maxlen, block_ms, claim_idle_ms, max_deliveries, batch) < 1:
            raise ValueError("maxlen, block_ms, claim_idle_ms, max_deliveries, batch must be >= 1")
        if trim_interval_s <= 0:
            raise ValueError("trim_interval_s must be > 0")
        self.maxlen = maxlen
        self.trim_interval_s = trim_interval_s
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.retry_delay_s = retry_delay_s
        self.max_deliveries = max_deliveries
        self.batch = batch
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._closed = asyncio.Event()  # redis-py reconnects after aclose(): we must not
        self._client = Redis.from_url(
            url,
            socket_connect_timeout=5.0,
            socket_timeout=block_ms / 1000 + 10.0,  # longer than a blocking read
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),  # one retry: stale sockets
        )

    async def publish(self, stream: str, data: bytes) -> str:
        if self._closed.is_set():
            raise BusError("bus is closed")
        try:
            msg_id = await self._client.xadd(
                stream, {_FIELD: data}, maxlen=self.maxlen, approximate=True
            )
        except _TRANSIENT as exc:
            raise BusUnavailableError(f"redis unavailable: {type(exc).__name__}") from exc
        return _text(msg_id)

    async def close(self) -> None:
        self._closed.set()
        await self._client.aclose()

    async def backlog(self, stream: str, group: str) -> int:
        """XINFO GROUPS' lag plus pending; the stream's length where Redis cannot tell the lag
        (before 7.0, or after deletions), or where the group does not exist yet."""
        try:
            groups: list[dict[str, Any]] = await self._client.xinfo_groups(stream)
        except ResponseError:  # no such stream
            return 0
        except _TRANSIENT as exc:
            raise BusUnavailableError(f"redis unavailable: {type(exc).__name__}") from exc
        for info in groups:
            if _text(info["name"]) == group:
                lag = info.get("lag")
                pending = int(info["pending"])
                return pending + (int(lag) if lag is not None else await self._length(stream))
        return await self._length(stream)

    async def retained(self, stream: str) -> int:
        try:
            return await self._length(stream)
        except _TRANSIENT as exc:
            raise BusUnavailableError(f"redis unavailable: {type(exc).__name__}") from exc

    async def _length(self, stream: str) -> int:
        return int(await self._client.xlen(stream))

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
        loop = _ConsumerLoop(self, stream, group, consumer, batch_handler, stop, max_batch)
        backoff = self.backoff_initial_s
        while not stop.is_set() and not self._closed.is_set():
            try:
                await loop.step()
                backoff = self.backoff_initial_s
            except _TRANSIENT as exc:
                if self._closed.is_set():
                    return  # close() cut the connection under a blocking read
                delay = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto
                log.warning(
                    "redis unavailable for %s group=%s (%s); retrying in %.2fs",
                    stream, group, type(exc).__name__, delay,
                )
                loop.group_ready = False
                await _sleep_or_stop(stop, delay)
                backoff = min(backoff * 2, self.backoff_max_s)
            except ResponseError as exc:
                if not str(exc).startswith("NOGROUP"):
                    raise
                log.warning("group %s on %s is gone; creating it again", group, stream)
                loop.group_ready = False


class _ConsumerLoop:
    """The state of one `consume` call: its group, its failed entries waiting for a retry."""

    def __init__(
        self,
        bus: RedisStreamsBus,
        stream: str,
        group: str,
        consumer: str,
        batch_handler: BatchHandler,
        stop: asyncio.Event,
        max_batch: int,
    ) -> None:
        self.bus, self.redis = bus, bus._client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.batch_handler, self.stop, self.max_batch = batch_handler, stop, max_batch
        self.group_ready = False
        self.retries: dict[bytes, float] = {}  # entry id -> monotonic time of the next try
        self.claim_cursor: bytes = b"0-0"
        self.next_claim_at = 0.0
        self.next_trim_at = time.monotonic() + bus.trim_interval_s

    async def step(self) -> None:
        if not self.group_ready:
            await self._ensure_group()
        await self._retry_due()
        if time.monotonic() >= self.next_claim_at:
            await self._autoclaim()
        await self._read_new()
        if time.monotonic() >= self.next_trim_at:
            self.next_trim_at = time.monotonic() + self.bus.trim_interval_s
            await trim_acknowledged(self.redis, self.stream)

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise
        self.group_ready = True

    async def _retry_due(self) -> None:
        now = time.monotonic()
        for msg_id in sorted(i for i, due in self.retries.items() if due <= now):
            del self.retries[msg_id]
            mine = await self.redis.xpending_range(
                self.stream, self.group, min=msg_id, max=msg_id, count=1,
                consumername=self.consumer,
            )
            if not mine:
                continue  # acknowledged or taken over meanwhile
            claimed: list[Entry] = await self.redis.xclaim(  # type: ignore[assignment]
                self.stream, self.group, self.consumer, 0, [msg_id]
            )
            for entry in claimed:  # empty if the entry was trimmed from the stream
                await self._handle(entry, int(mine[0]["times_delivered"]) + 1)

    async def _autoclaim(self) -> None:
        cursor, claimed, deleted = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, self.bus.claim_idle_ms,
            start_id=self.claim_cursor, count=self.bus.batch,
        )
        self.claim_cursor = cursor
        more = cursor not in (b"0-0", "0-0")
        self.next_claim_at = time.monotonic() + (0 if more else self.bus.claim_idle_ms / 2000)
        if deleted:
            log.warning("%d pending entries of %s were trimmed before handling", len(deleted),
                        self.stream)
        if not claimed:
            return
        log.info("took over %d idle entries of %s group=%s", len(claimed), self.stream,
                 self.group)
        counts = await self._delivery_counts(claimed)
        for entry in claimed:
            self.retries.pop(entry[0], None)
            if entry[0] in counts:  # else another consumer took it over meanwhile
                await self._handle(entry, counts[entry[0]])

    async def _delivery_counts(self, entries: Sequence[Entry]) -> dict[bytes, int]:
        rows: list[dict[str, Any]] = await self.redis.xpending_range(
            self.stream, self.group, min=entries[0][0], max=entries[-1][0],
            count=len(entries) + 1000, consumername=self.consumer,
        )
        return {row["message_id"]: int(row["times_delivered"]) for row in rows}

    async def _read_new(self) -> None:
        block_s = self.bus.block_ms / 1000
        deadlines = [*self.retries.values(), self.next_claim_at]
        block_s = max(0.001, min(block_s, min(deadlines) - time.monotonic()))
        read = asyncio.ensure_future(
            self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"},
                count=max(self.bus.batch, self.max_batch), block=max(1, int(block_s * 1000)),
            )
        )
        stopper = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({read, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not read.done():
            # Entries Redis handed out just before the cancel stay pending; XAUTOCLAIM
            # recovers them after claim_idle_ms. redis-py drops the interrupted connection.
            read.cancel()
            with suppress(asyncio.CancelledError, *_TRANSIENT):
                await read
            return
        entries = _entries(read.result())
        for start in range(0, len(entries), self.max_batch):
            await self._handle_new(entries[start : start + self.max_batch])

    async def _handle_new(self, entries: list[Entry]) -> None:
        """First deliveries: one handler call and one XACK for all; alone if that raises."""
        bodies = [fields.get(_FIELD) for _id, fields in entries]
        if len(entries) > 1 and None not in bodies:
            try:
                await self.batch_handler(bodies)  # type: ignore[arg-type]  # None ruled out
            except Exception as exc:
                log.warning("batch handler failed on %d entries of %s (%s); handling them one "
                            "by one", len(entries), self.stream, type(exc).__name__)  # fmt: skip
            else:
                await self.redis.xack(self.stream, self.group, *(i for i, _ in entries))
                return
        for entry in entries:
            await self._handle(entry, 1)

    async def _handle(self, entry: Entry, deliveries: int) -> None:
        msg_id, fields = entry
        data = fields.get(_FIELD)
        if data is None or deliveries > self.bus.max_deliveries:
            reason = "no body field" if data is None else f"claimed after {deliveries - 1} tries"
            await self._dead_letter(msg_id, data or b"", deliveries, reason)
            return
        try:
            await self.batch_handler([data])
        except Exception as exc:
            log.warning(
                "handler failed on %s id=%s group=%s consumer=%s delivery=%d: %s",
                self.stream, _text(msg_id), self.group, self.consumer, deliveries,
                type(exc).__name__,
            )
            if deliveries >= self.bus.max_deliveries:
                await self._dead_letter(msg_id, data, deliveries, type(exc).__name__)
            else:
                self.retries[msg_id] = time.monotonic() + self.bus.retry_delay_s
            return
        await self.redis.xack(self.stream, self.group, msg_id)

    async def _dead_letter(self, msg_id: bytes, data: bytes, deliveries: int, reason: str) -> None:
        dead = dead_letter_stream(self.stream)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                dead,
                {_FIELD: data, b"source_id": msg_id, b"group": self.group,
                 b"deliveries": deliveries, b"reason": reason[:200]},
                maxlen=self.bus.maxlen, approximate=True,
            )
            pipe.xack(self.stream, self.group, msg_id)
            await pipe.execute()
        log.error("moved %s id=%s to %s after %d deliveries (%s)",
                  self.stream, _text(msg_id), dead, deliveries, reason)


StreamId = tuple[int, int]


async def trim_acknowledged(redis: Redis, stream: str) -> int:
    """XTRIM MINID at the oldest entry some group of `stream` still needs: its oldest pending
    entry, else the one after its last delivered. Returns how many entries went. Not
    approximate, so what goes is exactly what every group has acknowledged. Entries added or
    delivered meanwhile are newer than that id, so the race is harmless."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream
        return 0
    needed: list[StreamId] = []
    for info in groups:
        mark = _parse_id(info["last-delivered-id"])
        mark = (mark[0], mark[1] + 1)
        if int(info["pending"]) > 0:
            summary = await redis.xpending(stream, info["name"])
            if summary.get("min") is not None:
                mark = min(mark, _parse_id(summary["min"]))
        needed.append(mark)
    if not needed:
        return 0  # nobody reads this stream yet: keep everything (up to maxlen)
    oldest = min(needed)
    return int(await redis.xtrim(stream, minid=f"{oldest[0]}-{oldest[1]}", approximate=False))


def _parse_id(value: bytes | str) -> StreamId:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


def _entries(reply: Any) -> list[Entry]:
    """XREADGROUP's reply (RESP2, the client's protocol): [[stream, [(id, fields), ...]]]."""
    return [(msg_id, fields) for _stream, entries in reply or [] for msg_id, fields in entries]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
