"""Every rule kind on footage through the real worker (PyAV, the offline model, ByteTrack,
sampling bursts): a case that must fire and one that must not, against truth written by eye."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.footage.replay import EPOCH, ROOT, episodes, load_expected, replay, score
from tests.scenarios.build import fall_clip, flicker_clip

pytestmark = pytest.mark.footage

EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"
SCENARIOS = ROOT / "tests" / "scenarios"


def scored(video: Path, rules: Path, truth: dict[str, list[list[float]]]) -> dict[str, Any]:
    run = replay(video, "--rules", str(rules), "--start-time", EPOCH)
    assert run.returncode == 0, run.stderr
    result = score(episodes(run.alerts), truth)
    assert result["unknown_rules"] == []
    return result


def test_rules_on_the_campus_path_fire_where_they_must_and_nowhere_else() -> None:
    truth = load_expected("vtest-20s.rule-alerts.json")["alerts"]
    result = scored(EXCERPT, SCENARIOS / "vtest-20s.rules.yaml", truth)
    rules = result["rules"]
    for rule_id, counts in rules.items():
        assert counts["false"] == 0, (rule_id, counts)
        if truth[rule_id]:
            assert counts["matched"] >= 1, (rule_id, counts)
    # Every crossing and every intrusion by eye is found; the sign hides one of the two talkers.
    assert rules["cross-road"]["missed"] == 0
    assert rules["intrude-road"]["missed"] == 0


@pytest.mark.parametrize("clip", ["fall", "flicker"])
def test_fall_fires_on_a_person_who_falls_not_on_a_one_frame_mislabel(
    clip: str, tmp_path: Path
) -> None:
    builds: dict[str, Callable[[Path], Path]] = {"fall": fall_clip, "flicker": flicker_clip}
    build = builds[clip]
    video = build(tmp_path / f"{clip}.mp4")
    truth = load_expected("fall-scenarios.rule-alerts.json")["clips"][clip]
    result = scored(video, SCENARIOS / "fall.rules.yaml", truth)
    assert result["rules"]["fall"] == {"matched": len(truth["fall"]), "false": 0, "missed": 0}
