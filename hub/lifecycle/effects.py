"""Side effects as data: `step` decides, the shell performs (notify, re-dispatch, escalate)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hub.contracts import Level
from hub.lifecycle.model import GridLevel, Id, Text, TicketKind, UtcDatetime, Value


class NotifyResponder(Value):
    """Send the responder a ticket or a reminder."""

    type: Literal["notify_responder"] = "notify_responder"
    responder_id: Id
    ticket: TicketKind | None = None
    why: Text


class Redispatch(Value):
    """Rank again and dispatch the best candidate not in `exclude` (declined or timed out)."""

    type: Literal["redispatch"] = "redispatch"
    exclude: list[Id]
    next_candidate: Id | None = Field(description="The next pending recommendation, if any")
    why: Text


class NotifyLeader(Value):
    """Copy the leader of the incident's grid at `grid_level` (网格长, community, street, ...)."""

    type: Literal["notify_leader"] = "notify_leader"
    grid_level: GridLevel
    why: Text


class NotifyShiftLeader(Value):
    """The operators' shift leader: an unclaimed or unverified alert, a late dispatch."""

    type: Literal["notify_shift_leader"] = "notify_shift_leader"
    why: Text


class RequeueForReview(Value):
    """Offer the alert to another operator (its claim deadline passed)."""

    type: Literal["requeue_for_review"] = "requeue_for_review"
    why: Text


class RaiseSupervision(Value):
    """Issue or climb the 督办单 to the unit at `responsible_level`, copying the level above."""

    type: Literal["raise_supervision"] = "raise_supervision"
    colour: Level
    responsible_level: GridLevel
    copy_level: GridLevel
    due_at: UtcDatetime
    why: Text


class CancelAssignment(Value):
    """Tell a responder their assignment is over (the incident closed or was reworked)."""

    type: Literal["cancel_assignment"] = "cancel_assignment"
    responder_id: Id
    why: Text


Effect = Annotated[
    NotifyResponder
    | Redispatch
    | NotifyLeader
    | NotifyShiftLeader
    | RequeueForReview
    | RaiseSupervision
    | CancelAssignment,
    Field(discriminator="type"),
]
