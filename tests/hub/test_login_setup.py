"""The first admin: a one-time set-up token in a 0600 file while no user exists, spent by the
first `POST /api/setup`; no default password anywhere."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.hub.conftest import Hub, _serve
from tests.hub.test_login import PASSWORD, signed_in


@pytest.fixture
async def fresh_hub(tmp_path: Path, database_url: str) -> AsyncIterator[Hub]:
    async for running in _serve(tmp_path, database_url):
        yield running


def _token_file(hub: Hub) -> Path:
    return hub.settings.setup_token_path


async def test_the_first_admin_is_created_once_with_the_set_up_token(
    fresh_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = fresh_hub
    path = _token_file(hub)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert len(token) >= 40
    async with httpx.AsyncClient(base_url=hub.base) as client:
        # No default account: common guesses sign nobody in.
        for guess in ("admin", "password", "123456", "admin123456"):
            answer = await client.post(
                "/api/session", json={"username": "admin", "password": guess}
            )
            assert answer.status_code == 401
        wrong = {"token": "x" * 43, "username": "chen", "password": PASSWORD}
        assert (await client.post("/api/setup", json=wrong)).status_code == 404
        short = {"token": token, "username": "chen", "password": "short"}
        assert (await client.post("/api/setup", json=short)).status_code == 422
        body = {"token": token, "username": "chen", "password": PASSWORD}
        foreign = await client.post(
            "/api/setup", json=body, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        created = await client.post("/api/setup", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["role"] == "admin" and "password" not in created.text
        again = {**body, "username": "second"}
        assert (await client.post("/api/setup", json=again)).status_code == 404  # spent
    assert not path.exists()
    async with signed_in(hub, "chen") as admin:
        made = await admin.post(
            "/api/users", json={"username": "li", "password": PASSWORD, "role": "viewer"}
        )
        assert made.status_code == 201, made.text
        assert [u["username"] for u in (await admin.get("/api/users")).json()] == ["chen", "li"]
    logged = [r.getMessage() for r in caplog.get_records("setup") + caplog.records]
    assert any(str(path) in message for message in logged)  # the log says where the file is
    assert all(token not in message for message in logged)  # and never what is in it


async def test_concurrent_set_ups_make_one_admin(fresh_hub: Hub) -> None:
    hub = fresh_hub
    token = _token_file(hub).read_text().strip()
    async with httpx.AsyncClient(base_url=hub.base) as client:
        bodies = [{"token": token, "username": f"a{i}", "password": PASSWORD} for i in range(4)]
        answers = await asyncio.gather(*(client.post("/api/setup", json=b) for b in bodies))
    assert sorted(a.status_code for a in answers) == [201, 404, 404, 404]
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        assert len((await admin.get("/api/users")).json()) == 1


async def test_a_hub_with_users_opens_no_set_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for hub in _serve(tmp_path, url):
        token = _token_file(hub).read_text().strip()
        async with httpx.AsyncClient(base_url=hub.base) as client:
            body = {"token": token, "username": "chen", "password": PASSWORD}
            assert (await client.post("/api/setup", json=body)).status_code == 201
    (tmp_path / "evidence").rmdir()  # _serve makes it again
    async for hub in _serve(tmp_path, url, setup_token_file=tmp_path / "elsewhere"):
        assert not (tmp_path / "elsewhere").exists() and not _token_file(hub).exists()
        async with httpx.AsyncClient(base_url=hub.base) as client:
            assert (
                await client.post("/api/setup", json={**body, "username": "zhou"})
            ).status_code == 404
