"""Reconnect delays: jittered exponential backoff with a cap. Pure: randomness is an argument."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 5.0  # a camera back from an outage streams again within about the cap
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) * d, d]

    def delay_s(self, failures: int, unit_random: float) -> float:
        """Delay before the next try after `failures` failures in a row (>= 1);
        `unit_random` in [0, 1) spreads cameras that failed together."""
        if failures < 1:
            return 0.0
        ceiling = min(self.cap_s, self.first_s * self.factor ** (failures - 1))
        return ceiling * (1 - self.jitter * unit_random)
