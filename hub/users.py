"""Console users: who they are, their role and grid scope. Passwords are stored only as argon2
hashes and never leave this module; hashing runs in a thread (it takes ~0.1 s of CPU on
purpose), so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hub.access import USER_ROLES, Principal, Role
from hub.db import SessionRow, UserRow
from hub.users_passwords import hash_password, needs_rehash, verify_password


def _normal(value: object) -> object:
    """Usernames ignore case and surrounding space (before the pattern is checked)."""
    return value.strip().lower() if isinstance(value, str) else value


Username = Annotated[
    str, BeforeValidator(_normal), StringConstraints(pattern=r"^[a-z0-9_.@-]{2,64}$")
]
MIN_PASSWORD = 10
Password = Annotated[SecretStr, Field(min_length=MIN_PASSWORD, max_length=256)]
GridId = Annotated[str, Field(min_length=1, max_length=64)]


class UserExistsError(Exception):
    """The username is taken."""


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Role
    grid_scope: GridId | None = Field(default=None, description="Grid node id; none: all")
    responder_id: GridId | None = Field(
        default=None, description="Responder role: the responder record it acts as "
        "(its username when unset)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> UserCreate:
        if self.role not in USER_ROLES:
            raise ValueError(f"role must be one of {', '.join(USER_ROLES)}")
        if self.role is Role.ADMIN and self.grid_scope is not None:
            raise ValueError("an admin manages all users, so it cannot be scoped to a grid node")
        return self


class UserUpdate(BaseModel):
    """Any of: enable or disable, a new role or scope, a new password (admin's reset)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    role: Role | None = None
    grid_scope: GridId | None = None
    password: Password | None = None


class UserPublic(BaseModel):
    id: str
    username: str
    role: Role
    grid_scope: str | None
    responder_id: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


def _public(row: UserRow) -> UserPublic:
    return UserPublic(
        id=row.id, username=row.username, role=Role(row.role), grid_scope=row.grid_scope,
        responder_id=row.responder_id, enabled=row.enabled, created_at=row.created_at,
        updated_at=row.updated_at,
    )  # fmt: skip


def principal_of_user(row: UserRow, session: str | None = None) -> Principal:
    role = Role(row.role)
    responder = (row.responder_id or row.username) if role is Role.RESPONDER else None
    return Principal(role, row.username, user_id=row.id, scope=row.grid_scope,
                     responder_id=responder, session=session)  # fmt: skip


class UserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)

    async def create(self, new: UserCreate, now: datetime) -> UserPublic:
        hashed = await asyncio.to_thread(hash_password, new.password.get_secret_value())
        row = UserRow(
            id=uuid.uuid4().hex, username=new.username, password_hash=hashed, role=new.role.value,
            grid_scope=new.grid_scope, responder_id=new.responder_id, enabled=True,
            created_at=now, updated_at=now,
        )  # fmt: skip
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise UserExistsError(new.username) from None
        return _public(row)

    async def get(self, user_id: str) -> UserPublic | None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
        return None if row is None else _public(row)

    async def all(self) -> list[UserPublic]:
        async with self._sessions() as session:
            rows = (await session.scalars(select(UserRow).order_by(UserRow.username))).all()
        return [_public(row) for row in rows]

    async def check(self, username: str, password: str, now: datetime) -> UserRow | None:
        """The enabled user with this username and password, else None: an unknown name, a
        wrong password and a disabled user look the same and take as long."""
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
        stored = None if row is None else row.password_hash
        if not await asyncio.to_thread(verify_password, stored, password):
            return None
        if row is None or not row.enabled:
            return None
        if needs_rehash(row.password_hash):
            await self._set_password(row.id, password, now)
        return row

    async def change(self, user_id: str, update: UserUpdate, now: datetime) -> UserPublic | None:
        """Apply an update; disabling or a new password also ends the user's sessions."""
        hashed = None
        if update.password is not None:
            hashed = await asyncio.to_thread(hash_password, update.password.get_secret_value())
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id, with_for_update=True)
            if row is None:
                return None
            role = update.role or Role(row.role)
            scope = update.grid_scope if "grid_scope" in update.model_fields_set else row.grid_scope
            if role is Role.ADMIN and scope is not None:
                raise ValueError("an admin cannot be scoped to a grid node")
            row.role, row.grid_scope, row.updated_at = role.value, scope, now
            if update.enabled is not None:
                row.enabled = update.enabled
            if hashed is not None:
                row.password_hash = hashed
            if hashed is not None or update.enabled is False or update.role is not None:
                await session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
        return _public(row)

    async def _set_password(self, user_id: str, password: str, now: datetime) -> None:
        hashed = await asyncio.to_thread(hash_password, password)
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id)
            if row is not None:
                row.password_hash, row.updated_at = hashed, now
