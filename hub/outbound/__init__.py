"""Outbound publication of incident changes to outside systems (SMS and app gateways).

Each `Sink` (webhook, MQTT) is fed by its own `Relay` (`hub.outbound.relay`) from the outbox
(`hub.outbox`): at least once, in order, catching up from the sink's cursor after an outage.
Only a webhook and MQTT: no foreign push service, so it works on a closed mainland-China network.

This module holds only the shared vocabulary; it imports none of its submodules (no cycles).
"""

from __future__ import annotations

from typing import Protocol

from hub.outbox import OutboxEntry


class DeliveryError(Exception):
    """A sink could not deliver an entry. The message is a reason safe to log: it never holds a
    secret, a password or anything the receiver answered.

    `permanent`: retrying will not help until someone fixes the configuration (bad credentials,
    a redirect, a 4xx); the relay still retries (it never skips an entry), only less often.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Sink(Protocol):
    """Somewhere outbox entries go. `name` keys the sink's cursor in the outbox."""

    @property
    def name(self) -> str: ...

    async def deliver(self, entry: OutboxEntry) -> None:
        """Deliver one entry; return only once it was accepted, else raise DeliveryError."""
        ...

    async def aclose(self) -> None:
        """Release connections (the relay calls it when it stops)."""
        ...


__all__ = ["DeliveryError", "Sink"]
