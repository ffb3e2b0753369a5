"""Who is asking: a bearer token (header) or the session cookie the page gets for it.

Roles and per-grid scopes come with the console; for now one operator token guards everything.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, WebSocket, status

from hub.settings import HubSettings

SESSION_COOKIE = "xl_session"


def presented_token(headers: dict[str, str] | object, cookies: dict[str, str]) -> str | None:
    authorization = getattr(headers, "get", lambda _key: None)("authorization")
    if isinstance(authorization, str) and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return cookies.get(SESSION_COOKIE)


def token_ok(settings: HubSettings, token: str | None) -> bool:
    if settings.api_token is None:
        return True  # loopback-only mode, enforced when the app is built
    expected = settings.api_token.get_secret_value().encode()
    return token is not None and hmac.compare_digest(token.encode(), expected)


def require_operator(request: Request) -> None:
    """Dependency for every API route."""
    settings: HubSettings = request.app.state.settings
    if not token_ok(settings, presented_token(request.headers, request.cookies)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def websocket_allowed(websocket: WebSocket, settings: HubSettings) -> bool:
    """Token as for the API, and an Origin of this hub or of the allowed list (a browser on
    another site must not ride the operator's cookie)."""
    if not token_ok(settings, presented_token(websocket.headers, websocket.cookies)):
        return False
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: the token already proved who it is
    if origin in settings.allowed_origins:
        return True
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc == host
