"""Every scripted rule scenario in one list: clip, rules file and truth windows. The footage
tests and `bench/accuracy.py` both read it, so the benchmark scores exactly what CI asserts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.footage.replay import load_expected
from tests.scenarios.build import (
    crowd_clip,
    fall_clip,
    flicker_clip,
    lawn_walk_clip,
    small_group_clip,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"

Truth = dict[str, list[list[float]]]  # rule id -> windows (seconds) in which it must be raised


@dataclass(frozen=True)
class Scenario:
    name: str
    rules: Path
    truth_file: str
    clip_key: str | None  # key under "clips" in the truth file; None: its "alerts" table
    build: Callable[[Path], Path] | None = None  # None: the committed excerpt as it is

    def video(self, folder: Path) -> Path:
        """The clip to replay, built into `folder` when it is made from the footage."""
        if self.build is None:
            return EXCERPT
        target = folder / f"{self.name}.mp4"
        return target if target.is_file() else self.build(target)

    def truth(self) -> Truth:
        expected = load_expected(self.truth_file)
        table = expected["alerts"] if self.clip_key is None else expected["clips"][self.clip_key]
        return table  # type: ignore[no-any-return]


ALL = [
    Scenario("campus", SCENARIOS / "vtest-20s.rules.yaml", "vtest-20s.rule-alerts.json", None),
    Scenario("fall", SCENARIOS / "fall.rules.yaml", "fall-scenarios.rule-alerts.json", "fall",
             fall_clip),
    Scenario("flicker", SCENARIOS / "fall.rules.yaml", "fall-scenarios.rule-alerts.json",
             "flicker", flicker_clip),
    Scenario("gathering", SCENARIOS / "crowd.rules.yaml", "crowd-scenarios.rule-alerts.json",
             "gathering", crowd_clip),
    Scenario("small-group", SCENARIOS / "crowd.rules.yaml", "crowd-scenarios.rule-alerts.json",
             "small-group", small_group_clip),
    Scenario("lawn-walk", SCENARIOS / "lawn-walk.rules.yaml", "lawn-walk.rule-alerts.json",
             "lawn-walk", lawn_walk_clip),
]
BY_NAME = {scenario.name: scenario for scenario in ALL}
