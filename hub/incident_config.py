"""The incident engine's configuration file (YAML or JSON): deadlines per colour and ring,
merging, travel speeds, ranking and which colours the system dispatches on suspicion.

Every key is optional; a partial colour keeps that colour's other defaults. Unknown keys are an
error, so a typo does not silently leave a default in force.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.contracts import Level
from hub.dispatch import DispatchPolicy, SpeedProfile
from hub.incidents import EngineConfig
from hub.lifecycle import DeadlinePolicy
from hub.merging import MergeRule


class IncidentConfigError(ValueError):
    pass


class IncidentConfigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadlines: DeadlinePolicy = Field(default_factory=DeadlinePolicy)
    merge_window_s: float = Field(
        default=600, gt=0, le=86_400, description="An alert joins an open incident of its kind "
        "and place changed within this many seconds",
    )  # fmt: skip
    merge_radius_m: float = Field(default=150, ge=0, le=10_000, description="... or this near")
    speeds: SpeedProfile = Field(default_factory=SpeedProfile)
    dispatch: DispatchPolicy = Field(default_factory=DispatchPolicy)
    auto_dispatch: list[Level] = Field(
        default_factory=list, description="Colours dispatched to the best responder at once"
    )

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            policy=self.deadlines, merge=MergeRule(self.merge_window_s, self.merge_radius_m),
            speeds=self.speeds, dispatch=self.dispatch, auto_dispatch=frozenset(self.auto_dispatch),
        )  # fmt: skip


def load_engine_config(path: Path | None) -> EngineConfig:
    if path is None:
        return IncidentConfigFile().engine_config()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return IncidentConfigFile.model_validate(data).engine_config()
    except OSError as error:
        raise IncidentConfigError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise IncidentConfigError(f"{path} is not valid YAML or JSON: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise IncidentConfigError(f"{path}: {problems}") from None
