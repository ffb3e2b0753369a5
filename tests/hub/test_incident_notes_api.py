"""Operators' notes over the API: audited with who, when and the whole text; state unchanged."""

from __future__ import annotations

import asyncio

import httpx

from hub.lifecycle import Note
from tests.factories import make_alert
from tests.hub.conftest import Hub
from tests.hub.incident_world import OPERATOR, World, alert


async def _incident_path(hub: Hub, client: httpx.AsyncClient) -> str:
    await hub.publish(make_alert())
    async with asyncio.timeout(5):
        while not (found := (await client.get("/api/incidents")).json()["incidents"]):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return f"/api/incidents/{found[0]['id']}"


async def test_a_note_lands_in_the_audit_trail_and_leaves_the_state(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _incident_path(hub, client)
        before = (await client.get(path)).json()
        text = "现场有施工围挡 construction fence on site; " + "z" * 900
        answer = await client.post(f"{path}/events", json={"type": "note", "text": text})
        assert answer.status_code == 200, answer.text
        after = answer.json()
        assert after["state"] == before["state"] == "pending_review"
        assert after["version"] == before["version"] + 1
        last = (await client.get(f"{path}/audit")).json()[-1]
        assert (last["event"], last["actor"]["id"], last["note"]) == ("note", "admin", text)
        assert last["from_state"] == last["to_state"] == "pending_review"
        assert last["at"] == after["updated_at"]


async def test_a_note_after_close_is_kept_and_the_incident_stays_closed(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _incident_path(hub, client)
        closed = await client.post(
            f"{path}/events", json={"type": "close", "close_reason": "duplicate"}
        )
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        noted = await client.post(f"{path}/events", json={"type": "note", "text": "see inc-7"})
        assert noted.status_code == 200 and noted.json()["state"] == "closed"
        assert (await client.get(f"{path}/audit")).json()[-1]["note"] == "see inc-7"


async def test_a_note_without_text_or_too_long_is_refused_clearly(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _incident_path(hub, client)
        for text in ("", "  ", "x" * 2001):
            answer = await client.post(f"{path}/events", json={"type": "note", "text": text})
            assert answer.status_code == 422, text
            assert any("text" in str(item) for item in answer.json()["detail"]), answer.text
        missing = await client.post(f"{path}/events", json={"type": "note"})
        assert missing.status_code == 422
        assert [r["event"] for r in (await client.get(f"{path}/audit")).json()] == ["queue"]


async def test_a_notes_text_stays_in_the_hub_and_outside_systems_read_that_one_was_added(
    world: World,
) -> None:
    incident = await world.engine.on_alert(alert())
    world.clock.advance(5)
    text = "the caller named the landlord, 13800000000"
    await world.engine.apply(incident.id, Note(actor=OPERATOR, at=world.clock(), text=text))
    published = (await world.changes())[-1]
    assert (published.event, published.why) == ("note", "note added")
    assert all(text not in change.model_dump_json() for change in await world.changes())
    last = (await world.engine.store.audit(incident.id))[-1]
    assert last.note == text  # the audit trail keeps it whole
