"""Server-side sessions of signed-in users, and the sign-in failure throttle.

The cookie holds a random id (256 bits); the database holds only its SHA-256, the user and the
expiry. Every request looks the session up with its user, so a disabled user, a changed password
(both delete the user's sessions) or a sign-out takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hub.access import Principal
from hub.db import SessionRow, UserRow
from hub.users import principal_of_user


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, engine: AsyncEngine, ttl: timedelta) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.ttl = ttl

    async def open(self, user_id: str, now: datetime) -> str:
        """A new session for the user; the id returned goes in the cookie and nowhere else."""
        session_id = secrets.token_urlsafe(32)
        row = SessionRow(id_sha256=session_hash(session_id), user_id=user_id, created_at=now,
                         expires_at=now + self.ttl)  # fmt: skip
        async with self._sessions.begin() as session:
            await session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            session.add(row)
        return session_id

    async def principal(self, session_id: str, now: datetime) -> Principal | None:
        """Who holds this session: an enabled user, before the expiry; else None."""
        digest = session_hash(session_id)
        query = (
            select(UserRow, SessionRow.expires_at)
            .join(SessionRow, SessionRow.user_id == UserRow.id)
            .where(SessionRow.id_sha256 == digest)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
        if found is None:
            return None
        user, expires_at = found
        if expires_at.tzinfo is None:  # SQLite keeps no offset: stored in UTC
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now or not user.enabled:
            return None
        return principal_of_user(user, session=digest)

    async def close(self, session_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SessionRow).where(SessionRow.id_sha256 == session_hash(session_id))
            )


class LoginThrottle:
    """At most `limit` failed sign-ins per key (a username, a client address) in `window`;
    past that the key is refused until its oldest failure leaves the window. In memory: a
    restart forgets, several hubs count apart (each still caps guessing to `limit` a window)."""

    def __init__(self, limit: int, window: timedelta, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, keys: list[str], now: datetime) -> bool:
        return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def failed(self, keys: list[str], now: datetime) -> None:
        if len(self._failures) >= self._max_keys:  # bounded memory under a spray of names
            self._failures = {k: v for k, v in self._failures.items() if self._recent(k, now)}
        for key in keys:
            failures = self._recent(key, now)
            failures.append(now)
            self._failures[key] = failures

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
