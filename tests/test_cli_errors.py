"""Bad input gives one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.footage.replay import ROOT, replay

EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"


def assert_clean_error(run_stderr: str, returncode: int, pattern: str) -> None:
    assert returncode == 2
    assert "Traceback" not in run_stderr
    lines = [line for line in run_stderr.splitlines() if line.startswith("xueliang: error:")]
    assert len(lines) == 1, run_stderr
    assert re.search(pattern, lines[0]), lines[0]


def test_missing_video(tmp_path: Path) -> None:
    run = replay(tmp_path / "nope.mp4")
    assert_clean_error(run.stderr, run.returncode, r"video not found: .*nope\.mp4")


def test_corrupt_video() -> None:
    run = replay(ROOT / "tests" / "data" / "corrupt.mp4")
    assert_clean_error(run.stderr, run.returncode, r"cannot (open|read)|undecodable|read failed")


def test_missing_model(tmp_path: Path) -> None:
    shutil.copy(ROOT / "models" / "manifest.toml", tmp_path / "manifest.toml")
    run = replay(EXCERPT, env={"XUELIANG_MODELS_DIR": str(tmp_path)})
    assert_clean_error(run.stderr, run.returncode, r"not found: run `make weights`")


def test_unloadable_user_model(tmp_path: Path) -> None:
    shutil.copy(ROOT / "models" / "manifest.toml", tmp_path / "manifest.toml")
    (tmp_path / "yolo11n.pt").write_bytes(b"\x00" * 1000)
    run = replay(EXCERPT, env={"XUELIANG_MODELS_DIR": str(tmp_path)})
    assert_clean_error(run.stderr, run.returncode, r"yolo11n\.pt could not be loaded.*corrupt")


def test_invalid_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("cameras:\n  - id: x\n    url: y\n", encoding="utf-8")
    run = replay(EXCERPT, "--rules", str(rules))
    assert_clean_error(
        run.stderr, run.returncode, r"rules\.yaml: cameras\.0\.location: Field required"
    )


def test_rule_asking_for_a_class_the_model_lacks(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "cameras:\n  - id: x\n    url: y\n    location: {lat: 30, lon: 104}\n"
        "    zones: [{id: z, polygon: [[0, 0], [1, 0], [1, 1]]}]\n"
        "    rules: [{id: cars, kind: intrusion, zone_id: z, classes: [car]}]\n",
        encoding="utf-8",
    )
    run = replay(EXCERPT, "--rules", str(rules))
    assert_clean_error(run.stderr, run.returncode, r"rule 'cars': the model has no class 'car'")


def test_nms_overlap_out_of_range_is_a_usage_error() -> None:
    run = replay(EXCERPT, "--nms-iou", "2")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "argument --nms-iou: must be between 0.05 and 0.95, not 2" in run.stderr
