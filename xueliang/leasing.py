"""Which cameras a worker should hold: the pure part of camera ownership leases.

Each camera is owned by one worker through a lease with a TTL in a shared store
(`xueliang.leases`). Every `tick_s` a worker renews what it holds, gives back what it should not
hold, and tries to acquire free cameras up to its fair share: `ceil(cameras / live workers)`, so
a worker that joins gets some and a lone worker takes them all. Workers rank cameras by a hash of
(worker, camera) (rendezvous hashing): different workers prefer different cameras, so they rarely
race for the same one, and a worker keeps the same cameras from tick to tick.

Time is an argument here: a lease confirmed by a request sent at `sent_s` (local clock) lasts in
the store until at least `sent_s + lease_ttl_s`, so the worker treats it as its own only until
`sent_s + lease_ttl_s - safety_s` (`lease_deadline`), leaving `safety_s` to stop the camera and
for clock drift. Past that moment the camera must not run: another worker may hold it.

Takeover bound, with the defaults (lease TTL 30 s, renewal every tick of 10 s, heartbeat TTL 30 s):
a worker that dies at time d renewed its leases and its heartbeat last at or before d, so both
keys are gone from the store by d + max(30, 30) = d + 30 s. Every other worker ticks every 10 s,
so the first tick after that, at most d + 40 s, sees the cameras free and the dead worker gone
(not counted in the fair share any more), and the live workers acquire them in that tick (each
tries every free camera until its share is full). 40 s <= 60 s, leaving 20 s for slow requests
and the camera's start. `LeaseSettings.takeover_bound_s` computes this; a tick that itself
takes long (a slow store) adds its duration.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "LeaseSettings",
    "Plan",
    "expired",
    "fair_share",
    "lease_deadline",
    "plan",
    "preference",
]


@dataclass(frozen=True)
class LeaseSettings:
    """How long leases last and how often they are renewed; all in seconds."""

    lease_ttl_s: float = 30.0
    tick_s: float = 10.0  # fetch the fleet, heartbeat, renew and acquire this often
    heartbeat_ttl_s: float = 30.0
    safety_s: float = 5.0  # a camera stops this long before its lease could lapse in the store
    stop_timeout_s: float = 2.0  # a camera that has not stopped by then is cancelled

    def __post_init__(self) -> None:
        values = (self.lease_ttl_s, self.tick_s, self.heartbeat_ttl_s, self.safety_s)
        if min(values) <= 0 or self.stop_timeout_s < 0:
            raise ValueError("lease settings must be positive")
        if self.tick_s + self.safety_s >= self.lease_ttl_s:
            raise ValueError("tick_s + safety_s must be below lease_ttl_s, or leases lapse")
        if self.stop_timeout_s >= self.safety_s:
            raise ValueError("stop_timeout_s must be below safety_s")

    @property
    def takeover_bound_s(self) -> float:
        """The latest a dead worker's cameras are acquired by another (see the module doc)."""
        return max(self.lease_ttl_s, self.heartbeat_ttl_s) + self.tick_s


@dataclass(frozen=True)
class Plan:
    """One tick's decisions. `release`: stop these cameras, then give their leases back.
    `renew`: keep these. `acquire`: free cameras, most preferred first; take at most `want`."""

    renew: tuple[str, ...] = ()
    release: tuple[str, ...] = ()
    acquire: tuple[str, ...] = ()
    want: int = 0


def fair_share(cameras: int, live_workers: int) -> int:
    return math.ceil(cameras / max(1, live_workers))


def preference(worker_id: str, camera_ids: Collection[str]) -> list[str]:
    """`camera_ids` in this worker's order of preference (stable, differs between workers)."""
    return sorted(camera_ids, key=lambda camera_id: _rank(worker_id, camera_id))


def _rank(worker_id: str, camera_id: str) -> bytes:
    return hashlib.blake2b(f"{worker_id}\0{camera_id}".encode(), digest_size=8).digest()


def plan(
    worker_id: str,
    fleet: Sequence[str],
    held: Collection[str],
    owners: Mapping[str, str],
    live_workers: int,
    *,
    may_acquire: bool = True,
) -> Plan:
    """`held`: leases this worker holds; `owners`: camera -> owner as the store sees them now;
    `live_workers`: including this one. `may_acquire` is False while the store may have lost
    leases that their owners still count on (see `xueliang.leases`)."""
    in_fleet = set(fleet)
    mine = {c for c in in_fleet if c in held or owners.get(c) == worker_id}
    ranked = preference(worker_id, mine)
    share = fair_share(len(in_fleet), live_workers)
    keep, excess = ranked[:share], ranked[share:]
    gone = sorted(c for c in held if c not in in_fleet)
    free = [c for c in preference(worker_id, in_fleet) if c not in owners and c not in mine]
    want = max(0, share - len(keep)) if may_acquire else 0
    return Plan(
        renew=tuple(keep),
        release=tuple(gone + excess),
        acquire=tuple(free) if want else (),
        want=want,
    )


def lease_deadline(sent_s: float, settings: LeaseSettings) -> float:
    """Until when a lease confirmed by a request sent at `sent_s` is surely still ours."""
    return sent_s + settings.lease_ttl_s - settings.safety_s


def expired(deadlines: Mapping[str, float], now_s: float) -> list[str]:
    """The cameras whose lease may no longer be ours at `now_s`: stop them."""
    return sorted(c for c, deadline_s in deadlines.items() if now_s >= deadline_s)
