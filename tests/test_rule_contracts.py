"""The rule union on the wire: kinds, defaults, references to zones and lines, alert ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hub.contracts import (
    CameraSpec,
    CrowdRuleSpec,
    FallRuleSpec,
    IntrusionRuleSpec,
    Level,
    LineCrossingRuleSpec,
    LoiteringRuleSpec,
    alert_id,
    place_of,
)
from hub.contracts.rules import TrackRuleBase

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def camera(*rules: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> CameraSpec:
    return CameraSpec.model_validate(
        {
            "id": "cam",
            "url": "rtsp://cam/s1",
            "location": {"lat": 30.0, "lon": 104.0},
            "zones": [{"id": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}],
            "lines": lines if lines is not None else [{"id": "gate", "a": [0, 0.5], "b": [1, 0.5]}],
            "rules": list(rules),
        }
    )


@pytest.mark.parametrize(
    ("rule", "model"),
    [
        ({"id": "r", "zone_id": "z"}, CrowdRuleSpec),  # written before kinds existed
        ({"id": "r", "kind": "crowd_gathering", "zone_id": "z"}, CrowdRuleSpec),
        ({"id": "r", "kind": "loitering", "zone_id": "z"}, LoiteringRuleSpec),
        ({"id": "r", "kind": "intrusion", "zone_id": "z"}, IntrusionRuleSpec),
        ({"id": "r", "kind": "fall", "zone_id": "z"}, FallRuleSpec),
        ({"id": "r", "kind": "line_crossing", "line_id": "gate"}, LineCrossingRuleSpec),
    ],
)
def test_kind_picks_the_rule_and_survives_a_round_trip(rule: dict[str, Any], model: type) -> None:
    spec = camera(rule)
    assert type(spec.rules[0]) is model
    assert CameraSpec.model_validate_json(spec.model_dump_json()) == spec


def test_defaults_follow_the_vendor_parameters() -> None:
    loiter = LoiteringRuleSpec(id="l", zone_id="z")
    intrusion = IntrusionRuleSpec(id="i", zone_id="z")
    fall = FallRuleSpec(id="f", zone_id="z")
    assert (loiter.dwell_s, loiter.miss_tolerance_s, loiter.level) == (60, 10, Level.YELLOW)
    assert (intrusion.min_inside_s, intrusion.level) == (5, Level.ORANGE)
    assert (fall.min_frames, fall.classes, fall.level) == (3, ["fallen"], Level.RED)
    assert LineCrossingRuleSpec(id="x", line_id="gate").debounce_s == 2


@pytest.mark.parametrize(
    ("rules", "lines", "message"),
    [
        ([{"id": "r", "kind": "bogus", "zone_id": "z"}], None, "does not match any"),
        ([{"id": "r", "kind": "line_crossing", "line_id": "nope"}], None, "unknown line 'nope'"),
        ([{"id": "r", "kind": "loitering", "zone_id": "nope"}], None, "unknown zone 'nope'"),
        ([{"id": "r", "kind": "loitering", "zone_id": "z", "dwell_s": 0}], None, "greater than 0"),
        ([], [{"id": "g", "a": [0.5, 0.5], "b": [0.5, 0.5]}], "same point"),
        ([], [{"id": "z", "a": [0, 0], "b": [1, 1]}], "share ids"),
        ([{"id": "r", "zone_id": "z", "masks": [[[0, 0], [2, 0], [0, 1]]]}], None, "less than"),
    ],
)
def test_bad_rules_fail_with_a_clear_message(
    rules: list[dict[str, Any]], lines: list[dict[str, Any]] | None, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        camera(*rules, lines=lines)


def test_alert_ids_without_a_track_are_unchanged_and_tracks_tell_alerts_apart() -> None:
    # The value stored before tracks existed: changing it would orphan stored alerts.
    assert alert_id("cam", "zone", "rule", T0) == "e086b2ea-41e9-56c6-89b6-923e25f782de"
    one, two = alert_id("cam", "z", "r", T0, 1), alert_id("cam", "z", "r", T0, 2)
    assert len({one, two, alert_id("cam", "z", "r", T0)}) == 3


def test_place_of_is_the_zone_or_the_line() -> None:
    assert place_of(LoiteringRuleSpec(id="l", zone_id="z")) == "z"
    assert place_of(LineCrossingRuleSpec(id="x", line_id="gate")) == "gate"


def test_zones_and_lines_are_looked_up_by_id_with_a_clear_error() -> None:
    spec = camera({"id": "r", "zone_id": "z"})
    assert spec.zone("z") is spec.zones[0] and spec.line("gate") is spec.lines[0]
    with pytest.raises(KeyError, match="camera 'cam' has no zone 'gate'"):
        spec.zone("gate")  # a line's id is not a zone's
    with pytest.raises(KeyError, match="camera 'cam' has no line 'nope'"):
        spec.line("nope")


def test_every_track_rule_says_what_its_hold_is_and_the_base_is_abstract() -> None:
    holds = {
        LoiteringRuleSpec(id="l", zone_id="z", dwell_s=7).hold_s,
        IntrusionRuleSpec(id="i", zone_id="z", min_inside_s=8).hold_s,
        FallRuleSpec(id="f", zone_id="z", lying_s=9).hold_s,
    }
    assert holds == {7, 8, 9}
    with pytest.raises(TypeError, match="abstract"):
        TrackRuleBase(id="t", zone_id="z")  # type: ignore[abstract]
