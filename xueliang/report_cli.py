"""`xueliang report daily`: the hub's daily report (日报) as JSON or CSV, from its API.

The hub is `--hub` (or XUELIANG_HUB_URL), the token XUELIANG_TOKEN (admin)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from xueliang.camera_cli import DEFAULT_HUB, HubCallError


def add_parser(commands: Any) -> None:
    report = commands.add_parser("report", help="response-time reports from the hub (operators)")
    report.add_argument("--hub", default=os.environ.get("XUELIANG_HUB_URL", DEFAULT_HUB))
    kinds = report.add_subparsers(dest="report", required=True)
    daily = kinds.add_parser("daily", help="one day's report (日报)")
    daily.add_argument("--day", type=date.fromisoformat, default=date.today(),
                       help="YYYY-MM-DD (default: today)")  # fmt: skip
    daily.add_argument("--tz", default="Asia/Shanghai", help="IANA timezone of the day")
    daily.add_argument("--format", choices=["json", "csv"], default="json")
    daily.add_argument("--out", type=Path, help="write here (default: standard output)")


def run(args: argparse.Namespace) -> int:
    token = os.environ.get("XUELIANG_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"day": args.day.isoformat(), "tz": args.tz, "format": args.format}
    try:
        with httpx.Client(base_url=args.hub, headers=headers, timeout=60) as hub:
            answer = hub.get("/api/reports/daily", params=params)
    except httpx.HTTPError as error:
        raise HubCallError(f"cannot reach the hub at {args.hub}: {type(error).__name__}") from None
    if answer.status_code != 200:
        try:
            detail = answer.json().get("detail", answer.reason_phrase)
        except ValueError:
            detail = answer.reason_phrase
        raise HubCallError(f"hub answered {answer.status_code}: {detail}")
    if args.out is None:
        sys.stdout.write(answer.text)
    else:
        args.out.write_text(answer.text, encoding="utf-8")
    return 0
