"""The first admin: while no user exists the hub makes a one-time set-up token and writes it to
a file only the hub's own account can read (mode 0600); `POST /api/setup` with it creates the
first admin, once. There is no default password anywhere. The token goes to a file rather than
the log because logs are shipped and kept; the log says only where the file is."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

from hub.users import UserCreate, UserPublic, UserStore

log = logging.getLogger("xueliang.hub.setup")


class SetupClosedError(Exception):
    """No set-up token is open (a user exists, or the hub has not made one)."""


class FirstAdmin:
    def __init__(self, users: UserStore, path: Path) -> None:
        self._users = users
        self._path = path
        self._digest: bytes | None = None  # SHA-256 of the open token; the token is not kept
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return self._digest is not None

    async def prepare(self) -> None:
        """At start: when no user exists, a new token in the file (replacing an older one)."""
        if await self._users.count() > 0:
            self._remove_file()
            return
        token = secrets.token_urlsafe(32)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()  # O_EXCL below: never write through a planted link
        descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        self._digest = hashlib.sha256(token.encode()).digest()
        log.warning("no user yet: the one-time set-up token is in %s (mode 0600); "
                    "POST /api/setup {token, username, password} creates the first admin",
                    self._path)  # fmt: skip

    async def create(self, token: str, admin: UserCreate, now: datetime) -> UserPublic:
        """The first admin, if `token` is the open one and still no user exists; the token is
        dead afterwards (SetupClosedError for a wrong or dead one)."""
        async with self._lock:  # two set-ups at once: one wins, the other finds it closed
            presented = hashlib.sha256(token.encode()).digest()
            if self._digest is None or not hmac.compare_digest(presented, self._digest):
                raise SetupClosedError
            if await self._users.count() > 0:
                self._close()
                raise SetupClosedError
            created = await self._users.create(admin, now)
            self._close()
        log.info("first admin %s created; the set-up token is spent", created.username)
        return created

    def _close(self) -> None:
        self._digest = None
        self._remove_file()

    def _remove_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
