"""Worker configuration files (YAML) and the demo's default camera."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.contracts import CameraSpec, CrowdRuleSpec, GeoPoint, Level, LevelStep, ZoneSpec

DEFAULT_FOOTAGE = Path(".cache/footage/vtest.avi")
FULL_FRAME = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


class ConfigError(Exception):
    """A configuration file is missing or invalid; the message says where and why."""


class WorkerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameras: list[CameraSpec] = Field(min_length=1, max_length=10_000)


def load_cameras(path: Path) -> list[CameraSpec]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    try:
        return WorkerConfig.model_validate(raw).cameras
    except ValidationError as error:
        raise ConfigError(f"config file {path}: {_first_problems(error)}") from None


def _first_problems(error: ValidationError, limit: int = 3) -> str:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
        for item in error.errors(include_input=False)[:limit]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def default_camera(url: str) -> CameraSpec:
    """The demo's camera: one zone over the whole frame with a crowd-gathering rule."""
    return CameraSpec(
        id="demo-plaza",
        name="Demo plaza (vtest.avi)",
        url=url,
        location=GeoPoint(lat=30.657, lon=104.066),
        heading_deg=180.0,
        grid_cell="demo-grid-001",
        zones=[ZoneSpec(id="plaza", name="Whole view", polygon=FULL_FRAME)],
        rules=[
            CrowdRuleSpec(
                id="crowd",
                zone_id="plaza",
                min_people=8,
                hold_s=5.0,
                clear_s=5.0,
                report_interval_s=30.0,
                cooldown_s=10.0,
                levels=[
                    LevelStep(min_people=1, level=Level.YELLOW),
                    LevelStep(min_people=12, level=Level.ORANGE),
                    LevelStep(min_people=20, level=Level.RED),
                ],
            )
        ],
    )
