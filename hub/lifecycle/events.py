"""What can happen to an incident: one frozen model per event, each with `actor` and `at`.

`Event` is a discriminated union on `type`, so the shell can store events as JSON and parse them
back with `EVENT_ADAPTER`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, TypeAdapter, model_validator

from hub.contracts import Level
from hub.lifecycle.model import (
    NOTE_MAX_CHARS,
    Actor,
    CloseReason,
    DeadlineKind,
    Id,
    Ref,
    Text,
    UtcDatetime,
    Value,
)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("a note needs some text (not only spaces)")
    return text


NoteText = Annotated[str, Field(min_length=1, max_length=NOTE_MAX_CHARS),
                     AfterValidator(_not_blank)]  # fmt: skip


class EventBase(Value):
    actor: Actor
    at: UtcDatetime = Field(description="When it happened (never after the `now` of `step`)")
    reason: Text = Field(default="", description="The actor's words, copied to the audit record")
    evidence: list[Ref] = Field(default_factory=list, description="Frame ids, clip URLs, GPS fix")


class Queue(EventBase):
    """Detected or reopened -> pending review: the alert is on the operators' queue."""

    type: Literal["queue"] = "queue"


class Claim(EventBase):
    type: Literal["claim"] = "claim"


class Verify(EventBase):
    """The claiming operator confirms the alert is real (it still needs a warning or dispatch)."""

    type: Literal["verify"] = "verify"


class MarkFalse(EventBase):
    type: Literal["mark_false"] = "mark_false"


class RaiseColour(EventBase):
    type: Literal["raise_colour"] = "raise_colour"
    colour: Level


class LowerColour(EventBase):
    """Only a person, only with a reason: colours never go down automatically."""

    type: Literal["lower_colour"] = "lower_colour"
    colour: Level
    reason: Text = Field(min_length=1)


class MergeAlert(EventBase):
    """Another alert (or a re-report) of the same place and kind joins this incident."""

    type: Literal["merge_alert"] = "merge_alert"
    alert_id: Id
    revision: int = Field(default=0, ge=0)
    colour: Level


class IssueWarning(EventBase):
    type: Literal["issue_warning"] = "issue_warning"


class Recommend(EventBase):
    """The ranking proposes a responder; `reasons` say why (grid, distance, ETA, skills)."""

    type: Literal["recommend"] = "recommend"
    responder_id: Id
    reasons: list[Text] = Field(default_factory=list, max_length=16)


class Dispatch(EventBase):
    """Notify a responder with the 交办单 (confirms a recommendation, or dispatches directly)."""

    type: Literal["dispatch"] = "dispatch"
    responder_id: Id
    reasons: list[Text] = Field(default_factory=list, max_length=16)
    override: bool = Field(
        default=False,
        description="Send a responder the ranking refused for an overridable reason (declined or "
        "timed out here, committed, delayed); `reason` must say why",
    )

    @model_validator(mode="after")
    def _override_says_why(self) -> Dispatch:
        if self.override and not self.reason.strip():
            raise ValueError("an override dispatch needs a reason")
        return self


class ResponderEvent(EventBase):
    responder_id: Id


class Acknowledge(ResponderEvent):
    type: Literal["acknowledge"] = "acknowledge"


class Decline(ResponderEvent):
    type: Literal["decline"] = "decline"


class Depart(ResponderEvent):
    type: Literal["depart"] = "depart"


class Arrive(ResponderEvent):
    type: Literal["arrive"] = "arrive"


class Clear(ResponderEvent):
    """The responder's task on scene is done (the situation is handled)."""

    type: Literal["clear"] = "clear"


class SubmitFeedback(ResponderEvent):
    type: Literal["submit_feedback"] = "submit_feedback"


class StartCheck(EventBase):
    """An operator (or a camera re-check) starts verifying the feedback (核查)."""

    type: Literal["start_check"] = "start_check"


class Approve(EventBase):
    """The check passed: the incident closes as resolved."""

    type: Literal["approve"] = "approve"


class RejectFeedback(EventBase):
    """The check failed: rework (返工), dispatching again."""

    type: Literal["reject_feedback"] = "reject_feedback"
    reason: Text = Field(min_length=1)


class Close(EventBase):
    """Close for any reason but `resolved`, which only a passed check (or a watched warning whose
    condition cleared) gives."""

    type: Literal["close"] = "close"
    close_reason: CloseReason


class Reopen(EventBase):
    type: Literal["reopen"] = "reopen"
    reason: Text = Field(min_length=1)


class Note(EventBase):
    """An operator's note: the audit trail keeps it (who, when, text); nothing else changes.
    Taken in every state, closed ones too: a record may need a word after the fact."""

    type: Literal["note"] = "note"
    text: NoteText


class DeadlineMissed(EventBase):
    """Fired by the scheduler; a no-op unless this exact deadline is still pending."""

    type: Literal["deadline_missed"] = "deadline_missed"
    kind: DeadlineKind
    subject: Id | None = None
    due_at: UtcDatetime


Event = Annotated[
    Queue
    | Claim
    | Verify
    | MarkFalse
    | RaiseColour
    | LowerColour
    | MergeAlert
    | IssueWarning
    | Recommend
    | Dispatch
    | Acknowledge
    | Decline
    | Depart
    | Arrive
    | Clear
    | SubmitFeedback
    | StartCheck
    | Approve
    | RejectFeedback
    | Close
    | Reopen
    | Note
    | DeadlineMissed,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
