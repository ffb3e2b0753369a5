"""Camera passwords at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256) under keys from the
environment. The only module that imports `cryptography`.

`XUELIANG_SECRET_KEY` holds one key or several separated by commas: the first seals, all of them
open, so a key can be rotated without re-registering every camera. `xueliang keygen` prints a key.
Workers hold the same key and open a camera's password only to connect.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PURPOSE = b"camera-password"  # bound into every token so a sealed value has one use


class SealingError(Exception):
    """No key, a malformed key, or a token that no key opens; never quotes the secret."""


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise SealingError("XUELIANG_SECRET_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(part.encode("ascii")) for part in parts])
        except (ValueError, UnicodeEncodeError):
            raise SealingError(
                "XUELIANG_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes): "
                "make one with `xueliang keygen`"
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(PURPOSE + b"\0" + secret.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SealingError("a sealed password does not open with XUELIANG_SECRET_KEY") from None
        purpose, _, secret = plain.partition(b"\0")
        if purpose != PURPOSE:
            raise SealingError("a sealed value is not a camera password")
        return secret.decode("utf-8")

    def reseal(self, token: str) -> str:
        """Under the first (newest) key: for rotation."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
