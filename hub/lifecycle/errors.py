"""The one error `step` raises for an event the incident cannot take."""

from __future__ import annotations


class LifecycleError(ValueError):
    """Base of the lifecycle's errors."""


class InvalidTransitionError(LifecycleError):
    """The event is not allowed in the incident's state (or breaks a guard, said in `detail`)."""

    def __init__(self, state: str, event: str, detail: str = "") -> None:
        self.state = state = str(state)  # plain text, not the enum's repr
        self.event = event = str(event)
        self.detail = detail
        suffix = f": {detail}" if detail else ""
        super().__init__(f"event {event!r} not allowed in state {state!r}{suffix}")
