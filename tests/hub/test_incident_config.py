"""The incident configuration file: the shipped example loads, typos and bad values are refused
with the key named, and partial colours keep their defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.contracts import Level
from hub.incident_config import IncidentConfigError, load_engine_config
from hub.lifecycle import DeadlineKind, DeadlinePolicy, duration_s

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "incidents.example.yaml"


def test_the_shipped_example_loads() -> None:
    config = load_engine_config(EXAMPLE)
    assert config.merge.radius_m == 150
    assert config.auto_dispatch == frozenset()
    assert duration_s(config.policy, DeadlineKind.ARRIVE, Level.RED, 3) == 180


def test_no_file_gives_the_defaults() -> None:
    assert load_engine_config(None).policy == DeadlinePolicy()


def test_a_partial_colour_keeps_its_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("deadlines: {red: {claim_s: 15}}\nauto_dispatch: [red, orange]\n")
    config = load_engine_config(path)
    assert config.policy.red.claim_s == 15
    assert config.policy.red.verify_s == DeadlinePolicy().red.verify_s
    assert config.auto_dispatch == {Level.RED, Level.ORANGE}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("merge_radius: 100\n", "merge_radius"),  # typo of merge_radius_m
        ("deadlines: {red: {claim_s: -1}}\n", "deadlines.red.claim_s"),
        ("auto_dispatch: [purple]\n", "auto_dispatch.0"),
        ("deadlines: {ring_arrive_s: {2: 60}}\n", "deadlines"),
    ],
)
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(IncidentConfigError, match=named.replace(".", r"\.")):
        load_engine_config(path)


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(IncidentConfigError, match="cannot read"):
        load_engine_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("deadlines: [unclosed\n")
    with pytest.raises(IncidentConfigError, match="not valid YAML"):
        load_engine_config(broken)
