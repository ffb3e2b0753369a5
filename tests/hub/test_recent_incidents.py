"""The engine's recent incident bodies: reused only at the version the store holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.contracts import Level
from hub.lifecycle import Incident, open_incident
from hub.recent_incidents import RecentIncidents

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def incident(incident_id: str, version: int = 1) -> Incident:
    opened = open_incident(incident_id, kind="crowd_gathering", colour=Level.YELLOW, at=T0,
                           alert_id=f"alert-{incident_id}")  # fmt: skip
    return opened.model_copy(update={"version": version})


@pytest.mark.parametrize(
    ("held", "asked", "reused"),
    [
        ({"a": 3}, {"a": 3}, ["a"]),  # the stored version: reused
        ({"a": 3}, {"a": 4}, []),  # someone wrote since: read again
        ({"a": 3}, {"a": None}, []),  # version unknown (an alert linked before): read again
        ({}, {"a": 1}, []),  # never held
        ({"a": 1, "b": 2}, {"a": 1, "b": 1, "c": 1}, ["a"]),
    ],
)
def test_a_body_is_reused_only_at_the_stored_version(
    held: dict[str, int], asked: dict[str, int | None], reused: list[str]
) -> None:
    recent = RecentIncidents()
    recent.remember(incident(i, v) for i, v in held.items())
    found = recent.current(asked)
    assert sorted(found) == reused
    assert all(found[i].version == asked[i] for i in reused)


def test_the_least_recently_used_leave_first() -> None:
    recent = RecentIncidents(size=2)
    recent.remember([incident("a"), incident("b")])
    assert recent.current({"a": 1}).keys() == {"a"}  # a is now the most recent
    recent.remember([incident("c")])
    assert len(recent) == 2
    assert recent.current({"a": 1, "b": 1, "c": 1}).keys() == {"a", "c"}


def test_remembering_a_newer_version_replaces_the_old() -> None:
    recent = RecentIncidents()
    recent.remember([incident("a", 1)])
    recent.remember([incident("a", 2)])
    assert recent.current({"a": 1}) == {}
    assert recent.current({"a": 2})["a"].version == 2


def test_the_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentIncidents(size=0)
