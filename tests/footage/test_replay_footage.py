"""Recorded footage through the real worker: file source, PyAV, the offline model on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.footage.replay import EPOCH, ROOT, episodes, load_expected, matches, replay

pytestmark = pytest.mark.footage

EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"
FULL = ROOT / ".cache" / "footage" / "vtest.avi"


@pytest.mark.parametrize(
    ("video", "expected_file"),
    [(EXCERPT, "vtest-20s.alerts.json"), (FULL, "vtest.alerts.json")],
    ids=["excerpt-20s", "vtest-full"],
)
def test_default_rules_raise_the_expected_crowd_alerts(
    video: Path, expected_file: str, tmp_path: Path
) -> None:
    assert video.is_file(), f"{video} missing: `make setup` fetches it"
    run = replay(video, "--start-time", EPOCH, "--evidence-dir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    expected = load_expected(expected_file)
    actual = episodes(run.alerts)
    assert len(actual) == len(expected["episodes"]), actual
    for got, want in zip(actual, expected["episodes"], strict=True):
        assert matches(got, want, expected["tolerance_s"]) == [], got
    # Every report while active carries an evidence snapshot that was written.
    for alert in run.alerts:
        assert alert.snapshot_ref is not None
        assert (tmp_path / alert.snapshot_ref).stat().st_size > 10_000
        assert alert.location.lat == pytest.approx(30.657)


def test_replay_is_deterministic_for_the_same_start_time() -> None:
    first = replay(EXCERPT, "--start-time", EPOCH)
    second = replay(EXCERPT, "--start-time", EPOCH)
    assert first.returncode == second.returncode == 0
    assert first.alerts and first.stdout == second.stdout


def test_rules_file_selects_zone_and_threshold(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """
cameras:
  - id: gate
    name: Gate
    url: ignored-by-replay
    location: {lat: 31.2, lon: 121.5}
    zones:
      - {id: path, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
    rules:
      - {id: big-crowd, zone_id: path, min_people: 40, hold_s: 1}
""",
        encoding="utf-8",
    )
    run = replay(EXCERPT, "--rules", str(rules), "--start-time", EPOCH)
    assert run.returncode == 0, run.stderr
    assert run.alerts == []  # nobody sees 40 people on a campus path


def test_two_cameras_replayed_together_each_raise_their_alert(tmp_path: Path) -> None:
    """Both cameras go through one batched detector at once; each keeps its own rules."""
    rules = tmp_path / "rules.yaml"
    camera = """
  - id: {id}
    url: ignored-by-replay
    location: {{lat: 31.2, lon: 121.5}}
    zones:
      - {{id: plaza, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
    rules:
      - {{id: crowd, zone_id: plaza, min_people: 8, hold_s: 5, clear_s: 5}}
"""
    rules.write_text(
        "cameras:" + camera.format(id="east") + camera.format(id="west"), encoding="utf-8"
    )
    run = replay(EXCERPT, "--rules", str(rules), "--start-time", EPOCH)
    assert run.returncode == 0, run.stderr
    by_camera = {e["camera_id"]: e for e in episodes(run.alerts)}
    assert set(by_camera) == {"east", "west"}
    assert by_camera["east"]["started_s"] == by_camera["west"]["started_s"] == 4.0
