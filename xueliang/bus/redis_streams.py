"""The Redis Streams bus: the only module that imports redis. Same semantics as `InProcessBus`
(see `xueliang.bus`): consumer groups, acknowledge after the handler returned, redelivery after a
failure, claiming a dead consumer's entries (XAUTOCLAIM), dead letters after `max_deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any, ClassVar

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from xueliang.bus import (
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAXLEN,
    DEFAULT_RETRY_DELAY_S,
    BusUnavailableError,
    Handler,
    dead_letter_stream,
)

log = logging.getLogger("xueliang.bus.redis")

FIELD = b"data"
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_USERINFO = re.compile(r"://[^@/]*@")


def redact(url: str) -> str:
    return _USERINFO.sub("://***@", url)


class RedisStreamsBus:
    kind: ClassVar[str] = "redis"

    def __init__(
        self,
        redis_url: str,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        claim_idle_ms: int = 30_000,
        block_ms: int = 1000,
    ) -> None:
        self._where = redact(redis_url)
        self._retry_at: dict[tuple[str, str], dict[bytes, float]] = {}
        # redis-py's stream command types are looser than its replies; we check replies ourselves.
        self._client: Any = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
        self.maxlen = maxlen
        self.max_deliveries = max_deliveries
        self.retry_delay_s = retry_delay_s
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms

    async def publish(self, stream: str, data: bytes) -> str:
        try:
            message_id = await self._client.xadd(
                stream, {FIELD: data}, maxlen=self.maxlen, approximate=True
            )
        except _UNAVAILABLE as error:
            raise BusUnavailableError(f"redis at {self._where}: {type(error).__name__}") from None
        return _text(message_id)

    async def consume(
        self,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        stop: asyncio.Event,
    ) -> None:
        backoff_s = BACKOFF_FIRST_S
        while not stop.is_set():
            try:
                await self._ensure_group(stream, group)
                while not stop.is_set():
                    await self._one_round(stream, group, consumer, handler)
                    backoff_s = BACKOFF_FIRST_S
            except _UNAVAILABLE as error:
                log.warning(
                    "redis at %s unavailable (%s); consumer %s retries in %.1f s",
                    self._where, type(error).__name__, consumer, backoff_s,
                )
                await _sleep_unless(stop, backoff_s)
                backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)

    async def close(self) -> None:
        await self._client.aclose()

    async def _ensure_group(self, stream: str, group: str) -> None:
        try:
            await self._client.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _one_round(self, stream: str, group: str, consumer: str, handler: Handler) -> None:
        """Retry this consumer's due failures, take over a dead consumer's entries, then read."""
        failed = self._retry_at.setdefault((stream, group), {})
        now = time.monotonic()
        due = [entry_id for entry_id, at in failed.items() if at <= now]
        if due:
            for entry_id in due:
                del failed[entry_id]
            # XCLAIM to ourselves counts the delivery, as a fresh read would.
            again = await self._client.xclaim(stream, group, consumer, 0, due)
            await self._deliver_all(stream, group, again, handler)
            return
        _next, orphans, _deleted = await self._client.xautoclaim(
            stream, group, consumer, min_idle_time=self.claim_idle_ms, count=10
        )
        if orphans:
            await self._deliver_all(stream, group, orphans, handler)
            return
        wait_s = min(failed.values(), default=now + self.block_ms / 1000) - now
        block_ms = max(1, min(self.block_ms, int(wait_s * 1000)))
        read = await self._client.xreadgroup(
            group, consumer, {stream: ">"}, count=10, block=block_ms
        )
        for _stream, entries in read or []:
            await self._deliver_all(stream, group, entries, handler)

    async def _deliver_all(
        self, stream: str, group: str, entries: list[Any], handler: Handler
    ) -> None:
        for entry in entries:
            if entry is None or not entry[1]:
                continue  # trimmed away meanwhile
            await self._deliver(stream, group, entry[0], entry[1], handler)

    async def _deliver(
        self, stream: str, group: str, entry_id: Any, fields: dict[bytes, bytes], handler: Handler
    ) -> None:
        data = fields.get(FIELD, b"")
        try:
            await handler(data)
        except asyncio.CancelledError:
            raise  # stays pending: another consumer claims it
        except Exception as error:
            deliveries = await self._deliveries(stream, group, entry_id)
            log.warning(
                "handler failed on %s id=%s group=%s delivery=%d: %s",
                stream, _text(entry_id), group, deliveries, type(error).__name__,
            )
            if deliveries >= self.max_deliveries:
                dead = dead_letter_stream(stream)
                await self._client.xadd(dead, {FIELD: data}, maxlen=self.maxlen, approximate=True)
                await self._client.xack(stream, group, entry_id)
                log.error("moved %s id=%s to %s", stream, _text(entry_id), dead)
            else:
                retry_at = time.monotonic() + self.retry_delay_s
                self._retry_at.setdefault((stream, group), {})[entry_id] = retry_at
            return
        await self._client.xack(stream, group, entry_id)

    async def _deliveries(self, stream: str, group: str, entry_id: Any) -> int:
        pending = await self._client.xpending_range(
            stream, group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
