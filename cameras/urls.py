"""Stream URLs: redaction so credentials never reach a log line or an error message."""

from __future__ import annotations

import re
from urllib.parse import quote

_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/]*@)")


def redact_url(url: str) -> str:
    """`rtsp://user:secret@host/x` -> `rtsp://***@host/x`; other text is returned unchanged."""
    return _USERINFO.sub(lambda match: f"{match.group('scheme')}***@", url)


def is_network_url(url: str) -> bool:
    return bool(re.match(r"^(rtsp|rtsps|rtmp|http|https|srt|udp|tcp)://", url, re.IGNORECASE))


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL to hand to the decoder, credentials percent-encoded into it (`@`, `:`, `/`, `%`
    in a password stay data). Build it at connect time only: never store or log the result."""
    if username is None:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("credentials need a network URL")
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    return f"{scheme}://{userinfo}@{rest}"
