"""The `note` event: in every state, one audit record (who, when, text) and nothing moves."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.lifecycle import EVENT_ADAPTER, IncidentState, InvalidTransitionError, Note, step
from tests.hub.lifecycle_builders import OPERATOR, POLICY, SUPERVISOR, SYSTEM, at, in_state

TEXT = "管理员已到场 the site manager is on his way"


@pytest.mark.parametrize("state", list(IncidentState), ids=lambda state: state.value)
def test_a_note_is_audited_in_every_state_and_changes_nothing_else(state: IncidentState) -> None:
    before = in_state(state)
    outcome = step(before, Note(actor=OPERATOR, at=at(5), text=TEXT), at(5), POLICY)
    after = outcome.incident
    assert after.model_dump(exclude={"version", "updated_at"}) == before.model_dump(
        exclude={"version", "updated_at"}
    )
    assert after.version == before.version + 1
    assert not outcome.effects and not outcome.set_deadlines and not outcome.cleared_deadlines
    (record,) = outcome.audit
    assert (record.event, record.actor, record.at) == ("note", OPERATOR, at(5))
    assert (record.from_state, record.to_state) == (state, state)
    assert record.note == TEXT and record.why == f"note: {TEXT}"


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("x", True),
        ("x" * 2000, True),
        ("", False),
        ("   \n", False),
        ("x" * 2001, False),
    ],
    ids=["one-char", "2000-chars", "empty", "blank", "2001-chars"],
)
def test_note_text_is_one_to_2000_characters(text: str, accepted: bool) -> None:
    body = {"type": "note", "actor": OPERATOR.model_dump(), "at": at(1), "text": text}
    if accepted:
        assert EVENT_ADAPTER.validate_python(body) == Note(actor=OPERATOR, at=at(1), text=text)
    else:
        with pytest.raises(ValidationError, match="text"):
            EVENT_ADAPTER.validate_python(body)


def test_a_long_note_is_kept_whole_while_why_is_cut() -> None:
    text = "y" * 2000
    outcome = step(in_state(IncidentState.ASSIGNED), Note(actor=SUPERVISOR, at=at(1), text=text),
                   at(1), POLICY)  # fmt: skip
    (record,) = outcome.audit
    assert record.note == text and len(record.why) == 500


def test_only_a_person_writes_notes() -> None:
    with pytest.raises(InvalidTransitionError, match="operator or supervisor"):
        step(in_state(IncidentState.ASSIGNED), Note(actor=SYSTEM, at=at(1), text=TEXT), at(1))
