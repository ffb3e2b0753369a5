"""Users and sessions: sign-in by username and password, a server-side session in an HttpOnly,
SameSite=Strict cookie, one answer for every failed sign-in, a failure throttle, sign-out and
the ends of a session (disabling, a password reset), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.db import SessionRow, UserRow
from hub.sessions import LoginThrottle, SessionStore
from hub.store import AlertStore
from hub.users import UserCreate, UserStore
from tests.hub.conftest import TOKEN, Hub, _serve

PASSWORD = "correct horse battery"


@pytest.fixture
async def any_hub(tmp_path: Path, database_url: str) -> AsyncIterator[Hub]:
    """The real hub on each database (the `database_url` fixture: SQLite, PostgreSQL)."""
    async for running in _serve(tmp_path, database_url):
        yield running


async def add_user(hub: Hub, username: str, role: str, **fields: Any) -> dict[str, Any]:
    """A user made through the admin API with the API token."""
    body = {"username": username, "password": PASSWORD, "role": role, **fields}
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        created = await admin.post("/api/users", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


@asynccontextmanager
async def signed_in(
    hub: Hub, username: str, password: str = PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a user's session cookie and sending this hub's Origin, like the page."""
    async with httpx.AsyncClient(base_url=hub.base, headers={"Origin": hub.base}) as client:
        answer = await client.post(
            "/api/session", json={"username": username, "password": password}
        )
        assert answer.status_code == 204, answer.text
        yield client


async def _sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/session", json={"username": username, "password": password})


async def test_sign_in_keeps_the_session_server_side(any_hub: Hub) -> None:
    hub = any_hub
    await add_user(hub, "li.viewer", "viewer")
    async with httpx.AsyncClient(base_url=hub.base) as client:
        opened = await _sign_in(client, "Li.Viewer", PASSWORD)  # usernames ignore case
        assert opened.status_code == 204, opened.text
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http here; https gets Secure
        session_id = client.cookies["xl_session"]
        assert PASSWORD not in session_id and len(session_id) >= 40
        me = (await client.get("/api/session")).json()
        assert (me["name"], me["role"], me["grid_scope"]) == ("li.viewer", "viewer", None)
        assert (await client.get("/api/alerts")).status_code == 200
        async with hub.store.engine.connect() as db:
            stored = (await db.execute(select(SessionRow.id_sha256))).scalars().all()
            hashes = (await db.execute(select(UserRow.password_hash))).scalars().all()
        assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]  # never the id itself
        assert hashes[0].startswith("$argon2id$") and PASSWORD not in hashes[0]
        out = await client.delete("/api/session", headers={"Origin": hub.base})
        assert out.status_code == 204
    # The old cookie, replayed after sign-out, opens nothing.
    async with httpx.AsyncClient(base_url=hub.base, cookies={"xl_session": session_id}) as replay:
        assert (await replay.get("/api/alerts")).status_code == 401
        assert (await replay.get("/api/session")).status_code == 401
    async with hub.store.engine.connect() as db:
        assert (await db.execute(select(SessionRow))).first() is None


async def test_every_failed_sign_in_gets_the_same_answer(hub: Hub) -> None:
    await add_user(hub, "wang", "operator")
    disabled = await add_user(hub, "zhao", "operator")
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        off = await admin.patch(f"/api/users/{disabled['id']}", json={"enabled": False})
        assert off.status_code == 200 and off.json()["enabled"] is False
    async with httpx.AsyncClient(base_url=hub.base) as client:
        answers = [
            await _sign_in(client, "wang", "wrong password!"),
            await _sign_in(client, "nobody", PASSWORD),
            await _sign_in(client, "zhao", PASSWORD),  # right password, disabled user
        ]
        assert [a.status_code for a in answers] == [401, 401, 401]
        assert len({a.text for a in answers}) == 1
        assert "xl_session" not in client.cookies
        assert (await client.get("/api/incidents")).status_code == 401


async def test_repeated_failures_for_a_username_are_throttled(hub: Hub) -> None:
    await add_user(hub, "wang", "operator")
    await add_user(hub, "li", "operator")
    async with httpx.AsyncClient(base_url=hub.base) as client:
        for _ in range(5):
            assert (await _sign_in(client, "wang", "not the password")).status_code == 401
        # Now even the right password waits: guessing cannot go on at full speed.
        assert (await _sign_in(client, "wang", PASSWORD)).status_code == 429
        assert (await _sign_in(client, "li", PASSWORD)).status_code == 204  # others unaffected


def test_the_throttle_forgets_failures_after_its_window() -> None:
    throttle = LoginThrottle(limit=2, window=timedelta(minutes=5))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    throttle.failed(["user:a"], t0)
    throttle.failed(["user:a"], t0 + timedelta(minutes=1))
    assert throttle.blocked(["user:a"], t0 + timedelta(minutes=2))
    assert not throttle.blocked(["user:b"], t0 + timedelta(minutes=2))
    assert not throttle.blocked(["user:a"], t0 + timedelta(minutes=6, seconds=1))


async def test_sign_in_from_another_site_is_refused(hub: Hub) -> None:
    """Login CSRF: another site must not sign the browser in as someone else."""
    await add_user(hub, "wang", "operator")
    async with httpx.AsyncClient(base_url=hub.base) as client:
        body = {"username": "wang", "password": PASSWORD}
        foreign = await client.post(
            "/api/session", json=body, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403 and "xl_session" not in client.cookies
        by_token = await client.post(
            "/api/session", json={"token": "x" * 20}, headers={"Referer": "https://evil.example/"}
        )
        assert by_token.status_code == 403
        assert (
            await client.post("/api/session", json=body, headers={"Origin": hub.base})
        ).status_code == 204


async def test_disabling_or_a_password_reset_ends_the_sessions(hub: Hub) -> None:
    user = await add_user(hub, "wang", "operator")
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        async with signed_in(hub, "wang") as page:
            assert (await page.get("/api/incidents")).status_code == 200
            reset = await admin.patch(
                f"/api/users/{user['id']}", json={"password": "a new passphrase"}
            )
            assert reset.status_code == 200, reset.text
            assert (await page.get("/api/incidents")).status_code == 401
        assert (await _sign_in(admin, "wang", PASSWORD)).status_code == 401  # the old one is dead
        async with signed_in(hub, "wang", "a new passphrase") as page:
            assert (
                await admin.patch(f"/api/users/{user['id']}", json={"enabled": False})
            ).status_code == 200
            assert (await page.get("/api/incidents")).status_code == 401


async def test_sign_in_request_is_validated(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        for body in (
            {"username": "wang"},
            {"token": "t", "username": "a", "password": "b"},
            {"extra": 1},
        ):
            assert (await client.post("/api/session", json=body)).status_code == 422, body


async def test_sessions_expire(tmp_path: Path) -> None:
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        users, sessions = UserStore(store.engine), SessionStore(store.engine, timedelta(hours=1))
        now = datetime(2026, 1, 1, 8, tzinfo=UTC)
        made = await users.create(UserCreate(username="li", password=PASSWORD, role="viewer"), now)
        session_id = await sessions.open(made.id, now)
        found = await sessions.principal(session_id, now + timedelta(minutes=59))
        assert found is not None and found.name == "li" and found.role == "viewer"
        assert await sessions.principal(session_id, now + timedelta(hours=1)) is None
        assert await sessions.principal("made-up", now) is None
    finally:
        await store.close()


async def test_the_cli_adds_a_user_who_can_sign_in(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from xueliang.cli import main

    monkeypatch.setenv("XUELIANG_TOKEN", TOKEN)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["users", "--hub", hub.base, "add", "Chen", "--role", "operator", "--password-stdin"]
    assert await asyncio.to_thread(main, argv) == 0
    printed = capsys.readouterr().out
    assert '"username": "chen"' in printed and PASSWORD not in printed
    async with signed_in(hub, "chen") as page:
        assert (await page.get("/api/session")).json()["role"] == "operator"
    monkeypatch.setenv("XUELIANG_TOKEN", "wrong")
    assert await asyncio.to_thread(main, ["users", "--hub", hub.base, "list"]) == 2


async def test_signing_out_ends_the_live_socket_of_that_session(hub: Hub) -> None:
    import websockets

    from tests.hub.test_ws import ws_url

    await add_user(hub, "li", "viewer")
    async with signed_in(hub, "li") as page:
        cookie = {"Origin": hub.base, "Cookie": f"xl_session={page.cookies['xl_session']}"}
        async with websockets.connect(ws_url(hub), additional_headers=cookie) as socket:
            await asyncio.sleep(0.1)
            assert (await page.delete("/api/session")).status_code == 204
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
        # The same cookie cannot open a new one.
        async with websockets.connect(ws_url(hub), additional_headers=cookie) as again:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(again.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_a_password_is_in_no_answer_and_no_log(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "canary-password-8f3e1"
    caplog.set_level("DEBUG")
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        body = {"username": "li", "password": canary, "role": "viewer"}
        answers = [await admin.post("/api/users", json=body)]
        answers.append(await admin.post("/api/users", json=body))  # 409: exists
        answers.append(await admin.post("/api/users", json={**body, "role": "overlord"}))  # 422
        answers.append(await admin.get("/api/users"))
    async with httpx.AsyncClient(base_url=hub.base) as client:
        answers.append(await _sign_in(client, "li", canary))
        answers.append(await _sign_in(client, "li", canary + "x"))
        setup = {"token": "t", "username": "zhou", "password": canary}
        answers.append(await client.post("/api/setup", json=setup))  # wrong token
    assert [a.status_code for a in answers] == [201, 409, 422, 200, 204, 401, 404]
    assert all(canary not in a.text for a in answers)
    assert all(canary not in r.getMessage() for r in caplog.records)


async def test_a_wrong_bearer_never_falls_back_on_the_session_cookie(hub: Hub) -> None:
    """The cross-site check trusts a bearer header; a cookie must not ride along with one."""
    await add_user(hub, "li", "operator")
    async with signed_in(hub, "li") as page:
        wrong = {"Authorization": "Bearer wrong", "Origin": "https://evil.example"}
        assert (await page.get("/api/incidents", headers=wrong)).status_code == 401
        refused = await page.post("/api/responders", json={"id": "r-x"}, headers=wrong)
        assert refused.status_code == 401
        assert (await page.get("/api/incidents")).status_code == 200
