"""Stream URLs: redaction so credentials never reach a log line or an error message."""

from __future__ import annotations

import re
from urllib.parse import quote

# Anywhere in a text: error messages quote URLs in the middle of a sentence.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/\s]*@)")


def redact_url(text: str) -> str:
    """`rtsp://user:secret@host/x` -> `rtsp://***@host/x`, for every URL in `text`; other text
    is returned unchanged."""
    return _USERINFO.sub(lambda match: f"{match.group('scheme')}***@", text)


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
