"""What every bench ends with: one JSON line on stdout, optionally kept in `bench/results/`."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def stamp() -> dict[str, str]:
    """The date and the machine, recorded with every result."""
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def emit(result: dict[str, Any], record: Path | None) -> None:
    line = json.dumps(result)
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(line + "\n", encoding="utf-8")
    print(line)
