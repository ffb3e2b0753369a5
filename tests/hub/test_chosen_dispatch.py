"""Dispatch to the responder an operator chose: only one the ranking lets go, with its reasons."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.factories import make_alert
from tests.hub.conftest import Hub

LI = "r-li"


async def _confirmed(hub: Hub, client: httpx.AsyncClient) -> str:
    """A verified incident (ready to dispatch) and two responders: r-li available, r-wang off
    shift. Returns the incident's events path."""
    for body in ({"id": "r-li", "availability": "available"}, {"id": "r-wang"}):
        assert (await client.post("/api/responders", json=body)).status_code == 201
    await hub.publish(make_alert())
    async with asyncio.timeout(5):
        while not (found := (await client.get("/api/incidents")).json()["incidents"]):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    path = f"/api/incidents/{found[0]['id']}/events"
    for kind in ("claim", "verify"):
        assert (await client.post(path, json={"type": kind})).status_code == 200
    return path


async def _assignments(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    incident = (await client.get(path.removesuffix("/events"))).json()
    return list(incident["assignments"])


async def test_dispatch_to_an_unknown_responder_is_not_found(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _confirmed(hub, client)
        for kind in ("dispatch", "recommend"):
            answer = await client.post(path, json={"type": kind, "responder_id": "r-nobody"})
            assert answer.status_code == 404, answer.text
            assert answer.json()["detail"] == "no such responder: r-nobody"
        assert await _assignments(client, path) == []


async def test_dispatch_to_a_responder_the_ranking_rejected_is_a_conflict_with_its_reasons(
    hub: Hub,
) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _confirmed(hub, client)
        answer = await client.post(path, json={"type": "dispatch", "responder_id": "r-wang"})
        assert answer.status_code == 409, answer.text
        assert answer.json()["detail"] == "r-wang cannot be dispatched: off shift"
        assert await _assignments(client, path) == []
        # Once assigned, the same responder is rejected for being assigned already.
        sent = await client.post(path, json={"type": "dispatch", "responder_id": "r-li"})
        assert sent.status_code == 200, sent.text
        again = await client.post(path, json={"type": "dispatch", "responder_id": "r-li"})
        assert again.status_code == 409 and "already assigned" in again.json()["detail"]


async def test_dispatch_to_an_eligible_responder_stores_the_rankings_reasons(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        path = await _confirmed(hub, client)
        ranked = (await client.get(path.replace("/events", "/recommendations"))).json()
        [expected] = [r["reasons"] for r in ranked["recommendations"] if r["responder_id"] == LI]
        assert expected  # the ranking always says why
        body = {"type": "dispatch", "responder_id": "r-li", "reasons": ["trust me"],
                "reason": "closest patrol"}  # fmt: skip
        answer = await client.post(path, json=body)
        assert answer.status_code == 200, answer.text
        [assignment] = answer.json()["assignments"]
        assert (assignment["responder_id"], assignment["state"]) == ("r-li", "notified")
        assert assignment["reasons"] == expected
        audit = (await client.get(path.replace("/events", "/audit"))).json()
        assert audit[-1]["event"] == "dispatch" and "closest patrol" in audit[-1]["why"]
