"""Sealed camera passwords: round trip, rotation, wrong keys and tampering give clear errors."""

from __future__ import annotations

import pytest

from hub.sealing import Sealer, SealingError, new_key
from tests.canary import CANARY_PASSWORD, leaks


def test_round_trip_hides_the_password() -> None:
    sealer = Sealer(new_key())
    token = sealer.seal(CANARY_PASSWORD)
    assert not leaks(token)
    assert sealer.open(token) == CANARY_PASSWORD
    assert sealer.seal(CANARY_PASSWORD) != token  # fresh IV each time


def test_rotation_opens_old_tokens_and_reseals_under_the_new_key() -> None:
    old, new = new_key(), new_key()
    token = Sealer(old).seal("pw")
    rotating = Sealer(f"{new},{old}")
    assert rotating.open(token) == "pw"
    resealed = rotating.reseal(token)
    assert Sealer(new).open(resealed) == "pw"
    with pytest.raises(SealingError):
        Sealer(old).open(resealed)


@pytest.mark.parametrize("key", ["", " , ", "short", CANARY_PASSWORD])
def test_bad_keys_are_refused_without_quoting_them(key: str) -> None:
    with pytest.raises(SealingError) as refused:
        Sealer(key)
    assert not leaks(str(refused.value)) and (not key.strip(" ,") or key not in str(refused.value))


def test_wrong_key_and_tampering_are_errors() -> None:
    token = Sealer(new_key()).seal("pw")
    with pytest.raises(SealingError):
        Sealer(new_key()).open(token)
    with pytest.raises(SealingError):
        Sealer(new_key()).open(token[:-4] + "AAAA")
    with pytest.raises(SealingError):
        Sealer(new_key()).open("not base64 at all é")
