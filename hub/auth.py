"""Who is asking: a bearer token, a signed-in user's session cookie, or a responder's token.

Callers, in the order they are recognised:
- the hub's tokens (`api_token`: admin, `integrator_token`, `worker_token`), as a bearer header
  or as the cookie the page got for one from `POST /api/session {"token"}`;
- a user's session: the cookie `POST /api/session {"username", "password"}` set, looked up
  server-side with its user on every request (hub/sessions.py);
- a responder's own token (issued when the responder is registered);
- in loopback-only mode (no `api_token`), anybody else is admin: `create_app` refuses a
  non-loopback `host`, and `LoopbackHostMiddleware` refuses requests whose Host header is not a
  loopback name, so a web page on another site cannot reach the hub through DNS rebinding.
What each role may do is the table in hub/access.py. Tokens and session ids are never logged.

A cookie rides along with requests from any site, so `CrossSiteMiddleware` refuses a change
(POST, PUT, PATCH, DELETE) that the cookie authenticates unless its Origin is this hub's or an
allowed one, and a sign-in or set-up from another site (login CSRF); the WebSocket gets the same
check in `websocket_principal`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, WebSocket, status
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.access import Perm, Principal
from hub.access import Role as Role  # re-exported: camera_routes imports it from here
from hub.settings import HubSettings

SESSION_COOKIE = "xl_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN_PATHS = frozenset({"/api/session", "/api/setup"})  # refused from another site
_PRINCIPAL = "xl.principal"  # where a request's caller is kept once found


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


def token_role(settings: HubSettings, token: str | None) -> Role | None:
    """The role of one of the hub's configured tokens, else None (every one compared)."""
    if token is None:
        return None
    presented = token.encode()
    candidates = (
        (Role.ADMIN, settings.api_token),
        (Role.INTEGRATOR, settings.integrator_token),
        (Role.WORKER, settings.worker_token),
    )
    found = None
    for role, secret in candidates:
        expected = None if secret is None else secret.get_secret_value().encode()
        if expected is not None and hmac.compare_digest(presented, expected):
            found = found or role
    return found


def role_of(settings: HubSettings, token: str | None) -> Role | None:
    if settings.api_token is None:
        return Role.ADMIN  # loopback-only mode, enforced when the app is built
    return token_role(settings, token)


async def principal_of(connection: HTTPConnection) -> Principal | None:
    """Who sent this request or opened this socket; None: nobody we know (401)."""
    if _PRINCIPAL not in connection.scope:
        connection.scope[_PRINCIPAL] = await _find_principal(connection)
    found: Principal | None = connection.scope[_PRINCIPAL]
    return found


async def _find_principal(connection: HTTPConnection) -> Principal | None:
    state: Any = connection.app.state
    settings: HubSettings = state.settings
    token = presented_token(connection.headers, connection.cookies)
    role = token_role(settings, token)
    if role is not None:
        return Principal(role, role.value)
    cookie = connection.cookies.get(SESSION_COOKIE)
    sessions = getattr(state, "sessions", None)
    # A bearer header speaks alone: a wrong one never falls back on the cookie (the cross-site
    # check lets bearer requests through, so the cookie must not ride along with one).
    if cookie and sessions is not None and bearer_token(connection.headers) is None:
        user = await sessions.principal(cookie, datetime.now(UTC))
        if user is not None:
            return user  # type: ignore[no-any-return]
    engine = getattr(state, "incidents", None)
    responder = await engine.responders.by_token(token) if token and engine else None
    if responder is not None:
        return Principal(Role.RESPONDER, responder.id, responder_id=responder.id)
    if settings.api_token is None:
        return Principal(Role.ADMIN, "admin")  # loopback-only mode
    return None


def _unauthorised() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "not signed in, or a wrong token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(*perms: Perm) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: the caller, who must hold one of `perms` (401 unknown, 403 not)."""

    async def check(request: Request) -> Principal:
        who = await principal_of(request)
        if who is None:
            raise _unauthorised()
        if not any(who.may(perm) for perm in perms):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {who.role} role may not do this")
        return who

    return check


require_operator = require(Perm.READ)  # the alert routes: read alerts and incidents


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Role]]:
    """Dependency factory: the caller's role, which must be admin or one of `roles`."""

    async def check(request: Request) -> Role:
        who = await principal_of(request)
        if who is None:
            raise _unauthorised()
        if who.role is not Role.ADMIN and who.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {who.role} role may not do this")
        return who.role

    return check


async def websocket_principal(websocket: WebSocket, settings: HubSettings) -> Principal | None:
    """A caller allowed to read, with an Origin of this hub or of the allowed list (a browser
    on another site must not ride the operator's cookie); else None. No Origin: not a
    browser, and the credential already proved who it is."""
    who = await principal_of(websocket)
    if who is None or not who.may(Perm.READ):
        return None
    origin = websocket.headers.get("origin")
    if origin is None:
        return who
    host = websocket.headers.get("host", "")
    return who if origin_allowed(origin, host, settings.allowed_origins) else None


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
    so a change it authenticates needs a matching Origin (or Referer), and so does a sign-in
    (else another site could sign the browser in as the attacker). In loopback-only mode no
    credential at all means admin, so there a foreign Origin is refused too; an absent one is
    a script (curl), not a browser, which always sends Origin on a cross-site change."""
    method = connection.scope.get("method", "")
    if method not in UNSAFE_METHODS or bearer_token(connection.headers) is not None:
        return None
    by_cookie = SESSION_COOKIE in connection.cookies
    origin = request_origin(connection.headers)
    signing_in = method == "POST" and connection.scope.get("path") in SIGN_IN_PATHS
    if origin is None:
        if by_cookie and not signing_in:
            return "cross-site request refused: a change by session cookie needs an Origin header"
        return None
    if not by_cookie and not signing_in and settings.api_token is not None:
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
