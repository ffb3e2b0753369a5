"""Validation errors as the API shows them: where and why, never the input (it may be a
password). One shape for request bodies (FastAPI's 422) and for merged records (PATCH)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def public_errors(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
        for item in items
    ]
