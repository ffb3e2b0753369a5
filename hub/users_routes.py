"""Sign-in, sign-out, who am I, the first admin's set-up, and the users admin API (admin only).

`POST /api/session` takes `{"username", "password"}` (a user: a server-side session) or
`{"token"}` (one of the hub's tokens, as before: the cookie carries the token). A wrong
username, a wrong password and a disabled user get the same answer after the same work; too many
failures for one username or one client address in a while get 429 for that key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.access import Perm, Principal, Role
from hub.auth import SESSION_COOKIE, principal_of, require, token_role
from hub.live import LiveFeed
from hub.sessions import LoginThrottle, SessionStore, session_hash
from hub.settings import HubSettings
from hub.users import Password, UserCreate, UserExistsError, UserPublic, UserStore, UserUpdate
from hub.users_setup import FirstAdmin, SetupClosedError
from hub.validation import public_errors

Admin = Annotated[Principal, Depends(require(Perm.USERS))]
UserId = Annotated[str, Path(min_length=1, max_length=32)]
WRONG = "wrong username or password"  # the one answer for every failed sign-in


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(default=None, max_length=512)
    username: str | None = Field(default=None, max_length=64)
    password: SecretStr | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _one_way(self) -> SignIn:
        by_password = self.username is not None and self.password is not None
        if (self.token is not None) == by_password:
            raise ValueError("give either token, or username and password")
        return self


class SetupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr = Field(max_length=512)
    username: str = Field(max_length=64)
    password: Password


class Identity(BaseModel):
    name: str
    role: Role
    user_id: str | None
    grid_scope: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def add_access_routes(
    app: FastAPI, settings: HubSettings, engine: AsyncEngine, live: LiveFeed
) -> FirstAdmin:
    """Adds the routes; the set-up (`app.state.first_admin`) is prepared when the app starts."""
    users = UserStore(engine)
    sessions = SessionStore(engine, timedelta(hours=settings.session_hours))
    first_admin = FirstAdmin(users, settings.setup_token_path)
    app.state.users, app.state.sessions, app.state.first_admin = users, sessions, first_admin
    by_name = LoginThrottle(limit=5, window=timedelta(minutes=5))
    by_address = LoginThrottle(limit=30, window=timedelta(minutes=5))

    def set_cookie(request: Request, response: Response, value: str, max_age: int) -> None:
        response.set_cookie(
            SESSION_COOKIE, value, httponly=True, samesite="strict", max_age=max_age,
            secure=request.url.scheme == "https", path="/",
        )  # fmt: skip

    @app.post("/api/session", status_code=204)
    async def sign_in(body: SignIn, request: Request, response: Response) -> None:
        if body.token is not None:
            token = body.token.get_secret_value()
            if token_role(settings, token) is None:
                raise HTTPException(401, "wrong token")
            set_cookie(request, response, token, 12 * 3600)
            return
        assert body.username is not None and body.password is not None
        username = body.username.strip().lower()
        now = _now()
        keys = [f"user:{username}"], [f"addr:{request.client.host if request.client else ''}"]
        if by_name.blocked(keys[0], now) or by_address.blocked(keys[1], now):
            raise HTTPException(429, "too many failed sign-ins: wait a few minutes")
        user = await users.check(username, body.password.get_secret_value(), now)
        if user is None:
            by_name.failed(keys[0], now)
            by_address.failed(keys[1], now)
            raise HTTPException(401, WRONG)
        by_name.succeeded(keys[0][0])
        await _close(request)  # a cookie from before is not kept alive beside the new one
        session_id = await sessions.open(user.id, now)
        set_cookie(request, response, session_id, int(sessions.ttl.total_seconds()))

    async def _close(request: Request) -> None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            await sessions.close(cookie)
            live.drop(session_hash(cookie))

    @app.delete("/api/session", status_code=204)
    async def sign_out(request: Request, response: Response) -> None:
        await _close(request)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", path="/")

    @app.get("/api/session")
    async def who_am_i(request: Request) -> Identity:
        """Who the page is signed in as (the console's user chip)."""
        who = await principal_of(request)
        if who is None:
            raise HTTPException(401, "not signed in", headers={"WWW-Authenticate": "Bearer"})
        return Identity(name=who.name, role=who.role, user_id=who.user_id,
                        grid_scope=who.scope)  # fmt: skip

    @app.post("/api/setup", status_code=201)
    async def set_up(body: SetupRequest) -> UserPublic:
        """Creates the first admin with the one-time token; 404 once spent (or wrong)."""
        try:
            admin = UserCreate(username=body.username, password=body.password, role=Role.ADMIN)
        except ValidationError as error:
            raise HTTPException(422, public_errors(error.errors(include_input=False))) from None
        try:
            return await first_admin.create(body.token.get_secret_value(), admin, _now())
        except SetupClosedError:
            raise HTTPException(404, "set-up is closed, or the token is wrong") from None

    def check_scope(scope: str | None) -> None:
        grid = getattr(app.state, "grid", None)
        if scope is not None and grid is not None and scope not in grid.nodes:
            raise HTTPException(422, f"grid_scope {scope!r} is not a node of the hub's grid")

    @app.get("/api/users")
    async def list_users(_who: Admin) -> list[UserPublic]:
        return await users.all()

    @app.post("/api/users", status_code=201)
    async def create_user(new: UserCreate, _who: Admin) -> UserPublic:
        check_scope(new.grid_scope)
        try:
            return await users.create(new, _now())
        except UserExistsError:
            raise HTTPException(409, "a user with this username exists") from None

    @app.patch("/api/users/{user_id}")
    async def change_user(user_id: UserId, update: UserUpdate, who: Admin) -> UserPublic:
        """Disable or enable, change role or scope, or reset the password. Disabling, a new
        password or role end the user's sessions; every change ends its live sockets (they
        reconnect with the new rights, or not at all)."""
        if user_id == who.user_id and (update.enabled is False or update.role is not None):
            raise HTTPException(409, "an admin cannot disable or demote themselves")
        check_scope(update.grid_scope)
        try:
            changed = await users.change(user_id, update, _now())
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        if changed is None:
            raise HTTPException(404, "no such user")
        live.drop(f"user:{user_id}")
        return changed

    return first_admin
