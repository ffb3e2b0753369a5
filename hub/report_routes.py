"""The daily report (日报) over HTTP: JSON or CSV, from the audit trail of the incidents alive that
day. Readers (admin, operator, viewer); a caller scoped to part of the grid gets the report of
the incidents in its cells only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response

from hub.access import Cells, Principal, in_scope, scope_cells
from hub.auth import require_operator
from hub.incidents import IncidentEngine
from hub.reports import DEFAULT_TZ, DailyReport, daily_report, day_bounds
from hub.store import AlertStore

Reader = Annotated[Principal, Depends(require_operator)]


async def build_daily_report(
    engine: IncidentEngine, alerts: AlertStore, day: date, tz: str, cells: Cells = None
) -> DailyReport:
    """`cells`: only the incidents of these grid cells (a caller's scope; None: all)."""
    start, end = day_bounds(day, tz)
    during = await engine.store.incidents_during(start, end)
    incidents = [incident for incident in during if in_scope(cells, incident.grid_cell)]
    audit = await engine.store.audit_for([incident.id for incident in incidents])
    alert_ids = sorted({alert_id for incident in incidents for alert_id in incident.alerts})
    found = await alerts.get_many(alert_ids)
    sources = {alert.id: (alert.camera_id, alert.rule_id) for alert in found}
    first_start: dict[str, datetime] = {}
    by_id = {alert.id: alert for alert in found}
    for incident in incidents:
        starts = [by_id[a].started_at for a in incident.alerts if a in by_id]
        if starts:
            first_start[incident.id] = min(starts)
    return daily_report(
        audit, incidents, day=day, tz=tz, policy=engine.config.policy, alert_sources=sources,
        detected_at=first_start,
    )  # fmt: skip


def add_report_routes(app: FastAPI, engine: IncidentEngine, alerts: AlertStore) -> None:
    @app.get("/api/reports/daily")
    async def daily(
        who: Reader,
        request: Request,
        day: date,
        tz: Annotated[str, Query(max_length=64)] = DEFAULT_TZ,
        output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    ) -> Response:
        try:
            cells = scope_cells(who.scope, request.app.state.grid)
            report = await build_daily_report(engine, alerts, day, tz, cells)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        if output == "csv":
            return Response(
                report.to_csv(), media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="daily-{day}.csv"'},
            )  # fmt: skip
        return Response(report.to_json(), media_type="application/json")
