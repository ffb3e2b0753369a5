"""The daily report as CSV rows: metric, group_by, group, count, p50_s, p90_s, rate (stdlib csv).

Every text cell is defused against spreadsheet formula injection: one starting with = + - @ (or
a tab or carriage return, which some spreadsheets skip before reading a formula) is prefixed
with a single quote. Numbers are written as numbers, never defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from hub.reports.rates import RateRow
from hub.reports.stats import StageRow

COLUMNS = ("metric", "group_by", "group", "count", "p50_s", "p90_s", "rate")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def defuse(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def count_rows(metric: str, group_by: str, counts: Mapping[str, int]) -> list[list[Cell]]:
    return [[metric, group_by, group, count, None, None, None] for group, count in counts.items()]


def stage_rows(rows: Iterable[StageRow]) -> list[list[Cell]]:
    return [
        [
            f"time_to_{row.stage.value}",
            row.group_by.value,
            row.group,
            row.count,
            row.p50_s,
            row.p90_s,
            None,
        ]
        for row in rows
    ]


def rate_rows(rows: Iterable[RateRow]) -> list[list[Cell]]:
    return [
        [row.metric, row.group_by.value, row.group, row.count, None, None, row.rate] for row in rows
    ]


def to_csv(rows: Sequence[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, float):
        return str(round(value, 3))  # milliseconds are enough for response times
    return str(value)
