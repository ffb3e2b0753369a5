"""Who is asking: a bearer token (header) or the session cookie the page gets for it.

With `api_token` set, every `/api/*` route and the WebSocket need it. Without one the hub serves
loopback only: `create_app` refuses a non-loopback `host`, and `LoopbackHostMiddleware` refuses
requests whose Host header is not a loopback name, so a web page on another site cannot reach
the hub through DNS rebinding. Roles and per-grid scopes come with the console; for now one
operator token guards the alerts, with an integrator token for camera registration and a
worker token for reading the fleet. Tokens are never logged.

A cookie rides along with requests from any site, so `CrossSiteMiddleware` refuses a change
(POST, PUT, PATCH, DELETE) that the cookie authenticates unless its Origin is this hub's or an
allowed one; the WebSocket gets the same check in `websocket_allowed`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Collection
from enum import StrEnum
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, WebSocket, status
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.settings import HubSettings

SESSION_COOKIE = "xl_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token(headers: Headers) -> str | None:
    authorization = headers.get("authorization")
    if authorization is not None and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def presented_token(headers: Headers, cookies: dict[str, str]) -> str | None:
    bearer = bearer_token(headers)
    return bearer if bearer is not None else cookies.get(SESSION_COOKIE)


def token_ok(settings: HubSettings, token: str | None) -> bool:
    if settings.api_token is None:
        return True  # loopback-only mode, enforced when the app is built
    expected = settings.api_token.get_secret_value().encode()
    return token is not None and hmac.compare_digest(token.encode(), expected)


class Role(StrEnum):
    ADMIN = "admin"  # the API token: everything
    INTEGRATOR = "integrator"  # registers and maintains cameras
    WORKER = "worker"  # reads the fleet it runs


def role_of(settings: HubSettings, token: str | None) -> Role | None:
    if settings.api_token is None:
        return Role.ADMIN  # loopback-only mode, enforced when the app is built
    if token is None:
        return None
    presented = token.encode()
    candidates = (
        (Role.ADMIN, settings.api_token),
        (Role.INTEGRATOR, settings.integrator_token),
        (Role.WORKER, settings.worker_token),
    )
    for role, secret in candidates:
        expected = None if secret is None else secret.get_secret_value().encode()
        if expected is not None and hmac.compare_digest(presented, expected):
            return role
    return None


def _unauthorised() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_operator(request: Request) -> None:
    """Dependency for the alert routes: the API token (admin)."""
    settings: HubSettings = request.app.state.settings
    if not token_ok(settings, presented_token(request.headers, request.cookies)):
        raise _unauthorised()


def require_roles(*roles: Role) -> Callable[[Request], Role]:
    """Dependency factory: the caller's role, which must be admin or one of `roles`."""

    def check(request: Request) -> Role:
        settings: HubSettings = request.app.state.settings
        role = role_of(settings, presented_token(request.headers, request.cookies))
        if role is None:
            raise _unauthorised()
        if role is not Role.ADMIN and role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {role} role may not do this")
        return role

    return check


def websocket_allowed(websocket: WebSocket, settings: HubSettings) -> bool:
    """Token as for the API, and an Origin of this hub or of the allowed list (a browser on
    another site must not ride the operator's cookie). No Origin: not a browser, and the
    token already proved who it is."""
    if not token_ok(settings, presented_token(websocket.headers, websocket.cookies)):
        return False
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return origin_allowed(origin, websocket.headers.get("host", ""), settings.allowed_origins)


def origin_allowed(origin: str, host: str, allowed: Collection[str]) -> bool:
    """`origin` is on the allowed list, or names this hub: the host and port of the Host header
    (an empty Host or an opaque `null` origin never matches)."""
    if origin in allowed:
        return True
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc == host.lower()


def request_origin(headers: Headers) -> str | None:
    """The Origin header, else the origin part of the Referer, else None."""
    origin = headers.get("origin")
    if origin is not None:
        return origin
    referer = headers.get("referer")
    if referer is None:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}"


def cross_site_refusal(connection: HTTPConnection, settings: HubSettings) -> str | None:
    """Why a change request must be refused as possibly cross-site, or None to let it through.

    A bearer header proves intent (no other site can attach it). The session cookie does not,
    so a change it authenticates needs a matching Origin (or Referer). In loopback-only mode no
    credential at all means admin, so there a foreign Origin is refused too; an absent one is
    a script (curl), not a browser, which always sends Origin on a cross-site change."""
    method = connection.scope.get("method", "")
    if method not in UNSAFE_METHODS or bearer_token(connection.headers) is not None:
        return None
    by_cookie = SESSION_COOKIE in connection.cookies
    origin = request_origin(connection.headers)
    if origin is None:
        if by_cookie:
            return "cross-site request refused: a change by session cookie needs an Origin header"
        return None
    if not by_cookie and settings.api_token is not None:
        return None  # no credential: the route answers 401
    if origin_allowed(origin, connection.headers.get("host", ""), settings.allowed_origins):
        return None
    return f"cross-site request refused: Origin {origin!r} is not this hub"


class CrossSiteMiddleware:
    """Answers 403 to HTTP changes that `cross_site_refusal` refuses, before any route runs."""

    def __init__(self, app: ASGIApp, settings: HubSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = cross_site_refusal(HTTPConnection(scope), self.settings)
            if refusal is not None:
                await JSONResponse({"detail": refusal}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_loopback_name(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (IPv6 in brackets or not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LoopbackHostMiddleware:
    """Refuses HTTP and WebSocket requests whose Host header is not a loopback name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            netloc = Headers(scope=scope).get("host", "")
            if not is_loopback_name(urlsplit(f"//{netloc}").hostname or ""):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    response = PlainTextResponse("host not allowed", status_code=400)
                    await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
