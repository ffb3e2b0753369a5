"""A canary password that must surface nowhere: no response, no log line, no bus message.

It carries URL-special characters so that every way of writing it differs: raw, percent-encoded
(both flavours), inside base64 of `user:password` (HTTP Basic), JSON-escaped.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import httpx

CANARY_PASSWORD = "Cnry-7f3a:@/%#?é"
CANARY_USER = "integrator-canary"


def canary_forms(secret: str = CANARY_PASSWORD, username: str = CANARY_USER) -> list[str]:
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return sorted(
        {
            secret,
            quote(secret, safe=""),
            quote(secret),
            quote_plus(secret),
            json.dumps(secret)[1:-1],  # é as \\u00e9
            basic,
            "Cnry-7f3a",  # the readable head, however the rest is escaped
        }
    )


def leaks(text: str | bytes) -> list[str]:
    """The canary's forms found in `text` (empty: clean)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return [form for form in canary_forms() if form in text]


async def assert_response_clean(response: httpx.Response) -> None:
    """An httpx response hook: neither the body nor the headers carry the canary."""
    await response.aread()
    assert not leaks(response.content), f"canary in the body of {response.request.url}"
    assert not leaks(str(response.headers)), f"canary in the headers of {response.request.url}"
