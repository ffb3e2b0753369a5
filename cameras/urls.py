"""Stream URLs: redaction so credentials never reach a log line or an error message."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/]*@)")


def redact_url(url: str) -> str:
    """`rtsp://user:secret@host/x` -> `rtsp://***@host/x`; other text is returned unchanged."""
    return _USERINFO.sub(lambda match: f"{match.group('scheme')}***@", url)


def is_network_url(url: str) -> bool:
    return bool(re.match(r"^(rtsp|rtsps|rtmp|http|https|srt|udp|tcp)://", url, re.IGNORECASE))
