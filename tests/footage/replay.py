"""Helpers for footage tests: run `xueliang replay` and fold its JSON lines into episodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.contracts import Alert

ROOT = Path(__file__).resolve().parents[2]
EPOCH = "2026-01-01T00:00:00+00:00"
SEVERITY = ["blue", "yellow", "orange", "red"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def alerts(self) -> list[Alert]:
        return [Alert.model_validate_json(line) for line in self.stdout.splitlines() if line]


def replay(video: Path | str, *extra: str, env: dict[str, str] | None = None) -> Run:
    command = [sys.executable, "-m", "xueliang.cli", "replay", str(video), "--json", *extra]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})}, check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def episodes(alerts: list[Alert]) -> list[dict[str, Any]]:
    """One entry per alert id: times in seconds from EPOCH, peak, highest level, reports."""
    epoch = datetime.fromisoformat(EPOCH)
    by_id: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_id.setdefault(alert.id, []).append(alert)
    folded = []
    for reports in by_id.values():
        first, last = reports[0], reports[-1]
        folded.append(
            {
                "kind": first.kind.value,
                "camera_id": first.camera_id,
                "zone_id": first.zone_id,
                "rule_id": first.rule_id,
                "started_s": (first.started_at - epoch).total_seconds(),
                "raised_s": (first.updated_at - epoch).total_seconds(),
                "ended_s": (last.ended_at - epoch).total_seconds() if last.ended_at else None,
                "peak_people": max(report.peak_people for report in reports),
                "level": max((r.level.value for r in reports), key=SEVERITY.index),
                "revisions": [report.revision for report in reports],
            }
        )
    return sorted(folded, key=lambda episode: episode["started_s"])


def load_expected(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "expected" / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def matches(actual: dict[str, Any], expected: dict[str, Any], tolerance_s: float) -> list[str]:
    """Differences between an episode and its expectation (empty when it matches)."""
    problems = []
    for key in ("kind", "camera_id", "zone_id", "rule_id", "level"):
        if actual[key] != expected[key]:
            problems.append(f"{key}: {actual[key]!r} != {expected[key]!r}")
    for key in ("started_s", "raised_s", "ended_s"):
        want, got = expected[key], actual[key]
        if (want is None) != (got is None) or (want is not None and abs(got - want) > tolerance_s):
            problems.append(f"{key}: {got} not within {tolerance_s} s of {want}")
    low, high = expected["peak_people"]
    if not low <= actual["peak_people"] <= high:
        problems.append(f"peak_people {actual['peak_people']} outside [{low}, {high}]")
    return problems


def score(actual: list[dict[str, Any]], truth: dict[str, list[list[float]]]) -> dict[str, Any]:
    """Per rule: alerts raised inside a truth window (each window matched once), false alarms
    (raised outside every window) and misses; precision and recall over all rules."""
    per_rule: dict[str, dict[str, int]] = {}
    for rule_id, windows in truth.items():
        free = [list(window) for window in windows]
        matched = false = 0
        for episode in (e for e in actual if e["rule_id"] == rule_id):
            hit = next((w for w in free if w[0] <= episode["raised_s"] <= w[1]), None)
            if hit is None:
                false += 1
            else:
                free.remove(hit)
                matched += 1
        per_rule[rule_id] = {"matched": matched, "false": false, "missed": len(free)}
    unknown = sorted({e["rule_id"] for e in actual} - set(truth))
    matched = sum(r["matched"] for r in per_rule.values())
    raised = matched + sum(r["false"] for r in per_rule.values())
    expected = sum(len(windows) for windows in truth.values())
    return {
        "rules": per_rule,
        "unknown_rules": unknown,
        "precision": matched / raised if raised else 1.0,
        "recall": matched / expected if expected else 1.0,
    }
