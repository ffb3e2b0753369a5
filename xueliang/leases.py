"""Camera ownership leases: the `LeaseStore` contract and its in-process implementation.

Two implementations share one protocol:

- `InProcessLeases` (this module): one process (embedded mode, tests); time from `clock`.
- `RedisLeases` (`xueliang.bus.redis_leases`): several workers on several machines.

The protocol, identical for both:

- `acquire(owner, cameras, ttl_s)`: take each camera that has no lease (`SET NX PX`); returns
  those taken.
- `renew(owner, cameras, ttl_s)`: extend each lease still held by `owner`; a lease that is
  missing altogether is set again (the store lost it: a Redis restart without its data), one held
  by someone else is not touched. Returns those that are `owner`'s now.
- `release(owner, cameras)`: delete each lease still held by `owner` (compare-and-delete).
- `heartbeat(worker_id, ttl_s)` marks a worker live for `ttl_s`; `forget_worker` ends that at
  once (graceful exit). `view(cameras)` answers the current owners of those cameras, the live
  workers, and `store_age_s`: how long the store has kept its data. A store that lost its data
  (Redis restarted empty) starts again at 0; workers acquire nothing new until it reaches the
  lease TTL, so every lease held before the loss has by then either been set again by its owner's
  renewal or given up by its owner (whose camera stops at its deadline): never two owners.
- Errors: `LeaseStoreUnavailableError` when the store cannot be reached (transient: retry).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "InProcessLeases",
    "LeaseStore",
    "LeaseStoreError",
    "LeaseStoreUnavailableError",
    "LeaseView",
]


class LeaseStoreError(Exception):
    """Base of the lease stores' own errors."""


class LeaseStoreUnavailableError(LeaseStoreError):
    """The store cannot be reached right now (transient: retry later)."""


@dataclass(frozen=True)
class LeaseView:
    owners: dict[str, str]  # camera id -> owner, for the leased ones among those asked about
    live_workers: frozenset[str]
    store_age_s: float  # math.inf for a store that never loses its data


class LeaseStore(Protocol):
    async def heartbeat(self, worker_id: str, ttl_s: float) -> None: ...

    async def forget_worker(self, worker_id: str) -> None: ...

    async def view(self, camera_ids: Sequence[str]) -> LeaseView: ...

    async def acquire(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]: ...

    async def renew(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]: ...

    async def release(self, owner: str, camera_ids: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


class InProcessLeases:
    """Leases in a dict, expiring by `clock`. Memory: one entry per leased camera and per
    worker; expired entries are dropped when next looked at."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}  # camera -> (owner, expires at)
        self._workers: dict[str, float] = {}  # worker -> heartbeat expires at

    def owner(self, camera_id: str) -> str | None:
        lease = self._leases.get(camera_id)
        if lease is None:
            return None
        if self._clock() >= lease[1]:
            del self._leases[camera_id]
            return None
        return lease[0]

    async def heartbeat(self, worker_id: str, ttl_s: float) -> None:
        self._workers[worker_id] = self._clock() + ttl_s

    async def forget_worker(self, worker_id: str) -> None:
        self._workers.pop(worker_id, None)

    async def view(self, camera_ids: Sequence[str]) -> LeaseView:
        now = self._clock()
        self._workers = {w: until for w, until in self._workers.items() if until > now}
        owners = {c: owner for c in camera_ids if (owner := self.owner(c)) is not None}
        return LeaseView(owners, frozenset(self._workers), store_age_s=math.inf)

    async def acquire(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]:
        return self._set_if(owner, camera_ids, ttl_s, allowed=(None,))

    async def renew(self, owner: str, camera_ids: Sequence[str], ttl_s: float) -> set[str]:
        return self._set_if(owner, camera_ids, ttl_s, allowed=(None, owner))

    async def release(self, owner: str, camera_ids: Sequence[str]) -> None:
        for camera_id in camera_ids:
            if self.owner(camera_id) == owner:
                del self._leases[camera_id]

    async def close(self) -> None:
        pass

    def _set_if(
        self, owner: str, camera_ids: Sequence[str], ttl_s: float, allowed: tuple[str | None, ...]
    ) -> set[str]:
        taken = set()
        for camera_id in camera_ids:
            if self.owner(camera_id) in allowed:
                self._leases[camera_id] = (owner, self._clock() + ttl_s)
                taken.add(camera_id)
        return taken
