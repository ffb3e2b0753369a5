"""Password hashing: the only import of argon2-cffi (Argon2id, its RFC 9106 defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Verified when the username is unknown, so that a miss costs as long as a wrong password and
# the answer's timing does not tell which usernames exist.
_DUMMY = _HASHER.hash("xueliang: no such user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; `stored` None checks the dummy hash (and says False)."""
    try:
        return _HASHER.verify(_DUMMY if stored is None else stored, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """The hash was made with older parameters: store a new one at the next sign-in."""
    return _HASHER.check_needs_rehash(stored)
