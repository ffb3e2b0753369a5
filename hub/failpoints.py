"""Crash points for fault tests: `XUELIANG_FAILPOINT=name:n` makes the hub kill itself with
SIGKILL (no cleanup, as `kill -9` or a power cut) the n-th time it passes `hit(name)`.

Unset in production, where `hit` costs one dictionary lookup. The tests use it to stop the hub
exactly between a durable write and the bus acknowledgement, which outside timing cannot do
reliably."""

from __future__ import annotations

import os
import signal
from collections import Counter

_ENV = "XUELIANG_FAILPOINT"
_passes: Counter[str] = Counter()


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get(_ENV, "")
    name, _, count = spec.partition(":")
    if not name:
        return None
    return name, int(count or "1")


def hit(name: str) -> None:
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    _passes[name] += 1
    if _passes[name] >= armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
