"""Model weights: the manifest in `models/`, which file to load, and checksum checks.

Every failure is a `WeightsError` whose message tells the user what to do; callers print it as
one line, never as a traceback.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.toml"
FETCH_HINT = "run `make weights` (scripts/fetch_weights.py)"


class WeightsError(Exception):
    """A model file is missing, corrupt or unusable; the message says how to fix it."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    source: str
    licence: str
    user_supplied: bool
    person_classes: tuple[str, ...]
    fallen_classes: tuple[str, ...]
    sha256: str | None = None


@dataclass(frozen=True)
class ResolvedModel:
    entry: ModelEntry
    path: Path


def load_manifest(models_dir: Path) -> list[ModelEntry]:
    path = models_dir / MANIFEST_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"model manifest {path} is missing; restore it from git") from None
    except tomllib.TOMLDecodeError as error:
        raise WeightsError(f"model manifest {path} is not valid TOML: {error}") from None
    try:
        return [_entry(item) for item in raw["model"]]
    except (KeyError, TypeError) as error:
        raise WeightsError(f"model manifest {path}: missing or bad field {error}") from None


def _entry(item: dict[str, object]) -> ModelEntry:
    sha256 = item.get("sha256")
    return ModelEntry(
        name=str(item["name"]),
        file=str(item["file"]),
        source=str(item["source"]),
        licence=str(item["licence"]),
        user_supplied=bool(item["user_supplied"]),
        person_classes=tuple(str(name) for name in item["person_classes"]),  # type: ignore[attr-defined]
        fallen_classes=tuple(str(name) for name in item["fallen_classes"]),  # type: ignore[attr-defined]
        sha256=str(sha256) if sha256 else None,
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve(models_dir: Path, name: str | None = None) -> ResolvedModel:
    """The model to load: `name` if given, else the first user-supplied model present, else the
    offline default. The offline default's checksum is verified."""
    entries = load_manifest(models_dir)
    if name is not None:
        chosen = [entry for entry in entries if entry.name == name]
        if not chosen:
            known = ", ".join(entry.name for entry in entries)
            raise WeightsError(f"unknown model {name!r}; the manifest knows: {known}")
        return _checked(models_dir, chosen[0])
    for entry in entries:
        if entry.user_supplied and (models_dir / entry.file).is_file():
            return _checked(models_dir, entry)
    defaults = [entry for entry in entries if not entry.user_supplied]
    if not defaults:
        raise WeightsError(f"model manifest in {models_dir} names no offline default model")
    return _checked(models_dir, defaults[0])


def _checked(models_dir: Path, entry: ModelEntry) -> ResolvedModel:
    path = models_dir / entry.file
    if not path.is_file():
        hint = FETCH_HINT if not entry.user_supplied else f"place {entry.file} in {models_dir}"
        raise WeightsError(
            f"model weights {path} not found: {hint}, or place a COCO YOLO model such as "
            f"yolo11n.pt in {models_dir}"
        )
    if entry.sha256 is not None and sha256_of(path) != entry.sha256:
        raise WeightsError(
            f"model weights {path} are corrupt (sha256 mismatch): delete the file and {FETCH_HINT}"
        )
    return ResolvedModel(entry, path)
