"""What the incident engine refuses with: the routes turn these into 404 and 409 answers."""

from __future__ import annotations

from collections.abc import Sequence


class IncidentNotFoundError(Exception):
    pass


class ResponderNotFoundError(Exception):
    """No responder has this id."""


class ResponderNotEligibleError(Exception):
    """The ranking left this responder out of the incident; `reasons` say why."""

    def __init__(self, responder_id: str, reasons: Sequence[str], *, overridable: bool) -> None:
        self.responder_id = responder_id
        self.reasons = list(reasons)
        self.overridable = overridable
        hint = " (an operator may dispatch with override and a reason)" if overridable else ""
        super().__init__(f"{responder_id} cannot be dispatched: {'; '.join(self.reasons)}{hint}")
