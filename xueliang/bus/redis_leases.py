"""`RedisLeases`: camera ownership leases in Redis (redis-py asyncio), the `LeaseStore` protocol
of `xueliang.leases`. With `redis_streams`, the only modules that import `redis`.

Keys, all under the `xl:` prefix:

- `xl:lease:<camera id>` = owner, with PX ttl. Acquire is `SET NX PX`; renew and release are Lua
  scripts that compare the owner first (compare-and-set, atomic on the server).
- `xl:worker:<worker id>` = "1", with PX ttl: a live worker's heartbeat. Listed with SCAN.
- `xl:leases:epoch` = the server time (ms) when the lease data began. Redis restarted without
  its data loses it with the leases; the next worker to look writes it again, so `store_age_s`
  starts again at 0 and nobody acquires until the old leases' owners had time to set them again.

Each call is one round trip (a pipeline of single-key commands, so it also works where keys
live on different cluster slots). Redis unreachable: `LeaseStoreUnavailableError`; a command
refused: `LeaseStoreError`; both name only the exception type (never the URL, which may hold a
password).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from xueliang.leases import LeaseStoreError, LeaseStoreUnavailableError, LeaseView

__all__ = ["RedisLeases"]

_TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
T = TypeVar("T")

# KEYS[1] lease; ARGV owner, ttl ms. Extend our lease, set a lost one again, leave another's.
_RENEW = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] lease; ARGV owner. Delete it only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] epoch. Milliseconds since the lease data began (now, if it begins now).
_AGE = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], now_ms, 'NX')
return now_ms - tonumber(redis.call('GET', KEYS[1]))
"""


class RedisLeases:
    def __init__(self, url: str, *, prefix: str = "xl:", socket_timeout_s: float = 5.0) -> None:
        self.prefix = prefix
        self._client = Redis.from_url(
            url,
            socket_connect_timeout=socket_timeout_s,
            socket_timeout=socket_timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),  # one retry: stale sockets
        )
        self._renew = self._client.register_script(_RENEW)
        self._release = self._client.register_script(_RELEASE)
        self._age = self._client.register_script(_AGE)

    def lease_key(self, camera_id: str) -> str:
        return f"{self.prefix}lease:{camera_id}"

    def worker_key(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    async def heartbeat(self, worker_id: str, ttl_s: float) -> None:
        await _call(lambda: self._client.set(self.worker_key(worker_id), b"1", px=_ms(ttl_s)))

    async def forget_worker(self, worker_id: str) -> None:
        await _call(lambda: self._client.delete(self.worker_key(worker_id)))

    async def view(self, camera_ids: Sequence[str]) -> LeaseView:
        return await _call(lambda: self._view(camera_ids))

    async def _view(self, camera_ids: Sequence[str]) -> LeaseView:
        async with self._client.pipeline(transaction=False) as pipe:
            await self._age(keys=[f"{self.prefix}leases:epoch"], client=pipe)  # queues it
            for camera_id in camera_ids:
                pipe.get(self.lease_key(camera_id))
            age_ms, *owners = await pipe.execute()
        # Workers after owners: a dead worker's heartbeat (written before its renewals) is gone
        # by the time its leases are, so free cameras are never counted against a dead worker.
        workers = await self._live_workers()
        found = {c: _text(owner) for c, owner in zip(camera_ids, owners, strict=True) if owner}
        return LeaseView(found, workers, store_age_s=int(age_ms) / 1000)

    async def _live_workers(self) -> frozenset[str]:
        start = len(self.worker_key(""))
        pattern = self.worker_key("*")
        return frozenset([_text(key)[start:] async for key in self._client.scan_iter(pattern)])

    async def acquire(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]:
        async def run() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for camera_id in camera_ids:
                    pipe.set(self.lease_key(camera_id), owner, nx=True, px=_ms(ttl_s))
                return await pipe.execute()

        return _taken(camera_ids, await _call(run))

    async def renew(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]:
        return _taken(camera_ids, await self._scripted(self._renew, camera_ids, owner, _ms(ttl_s)))

    async def release(self, owner: str, camera_ids: Sequence[str]) -> None:
        await self._scripted(self._release, camera_ids, owner)

    async def close(self) -> None:
        await self._client.aclose()

    async def _scripted(self, script: Any, camera_ids: Sequence[str], *args: Any) -> list[Any]:
        if not camera_ids:
            return []

        async def run() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for camera_id in camera_ids:
                    await script(keys=[self.lease_key(camera_id)], args=list(args), client=pipe)
                return await pipe.execute()

        return await _call(run)


async def _call(request: Callable[[], Awaitable[T]]) -> T:
    try:
        return await request()
    except _TRANSIENT as exc:
        raise LeaseStoreUnavailableError(f"redis unavailable: {type(exc).__name__}") from None
    except RedisError as exc:  # refused (NOAUTH, READONLY, ...): the fleet retries, leases lapse
        raise LeaseStoreError(f"redis refused: {type(exc).__name__}") from None


def _taken(camera_ids: Sequence[str], replies: Sequence[Any]) -> set[str]:
    return {c for c, reply in zip(camera_ids, replies, strict=True) if reply}


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
