"""The latest health report of each camera, as workers publish them (kept in memory: a report
is superseded within seconds, and workers re-send on every change and every interval)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from hub.contracts import CameraHealth

log = logging.getLogger("xueliang.hub.health")


class HealthBoard:
    def __init__(self) -> None:
        self._latest: dict[str, CameraHealth] = {}
        self.malformed = 0

    async def handle(self, data: bytes) -> None:
        try:
            report = CameraHealth.model_validate_json(data)
        except ValidationError as error:
            self.malformed += 1  # a stale report is worthless: count it and move on
            log.warning("malformed camera health report dropped (%d errors)", error.error_count())
            return
        current = self._latest.get(report.camera_id)
        if current is None or report.reported_at >= current.reported_at:
            self._latest[report.camera_id] = report

    def all(self) -> list[CameraHealth]:
        return sorted(self._latest.values(), key=lambda report: report.camera_id)
