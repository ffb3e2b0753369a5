"""An operator may dispatch past the ranking's overridable refusals (declined, timed out,
committed, delayed) with a reason; never past unavailable or off shift."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hub.dispatch import Reason, ReasonCode, Rejection, override_reasons
from tests.factories import make_alert
from tests.hub.conftest import Hub


def _rejection(*codes: ReasonCode) -> Rejection:
    return Rejection("r-li", tuple(Reason(code, code.value.replace("_", " ")) for code in codes))


@pytest.mark.parametrize(
    ("codes", "overridable"),
    [
        ((ReasonCode.EXCLUDED,), True),
        ((ReasonCode.COMMITTED,), True),
        ((ReasonCode.DELAYED_EXCLUDED,), True),
        ((ReasonCode.EXCLUDED, ReasonCode.COMMITTED), True),
        ((ReasonCode.OFF_SHIFT,), False),
        ((ReasonCode.UNAVAILABLE,), False),
        ((ReasonCode.EXCLUDED, ReasonCode.OFF_SHIFT), False),
    ],
)
def test_only_overridable_refusals_can_be_overridden(
    codes: tuple[ReasonCode, ...], overridable: bool
) -> None:
    stored = override_reasons(_rejection(*codes), "phoned him")
    assert (stored is not None) is overridable
    if stored is not None:
        assert stored[0] == "dispatcher override: phoned him"
        assert stored[1:] == [f"overridden: {code.value.replace('_', ' ')}" for code in codes]


def test_override_reasons_are_bounded() -> None:
    stored = override_reasons(_rejection(ReasonCode.EXCLUDED), "x" * 900)
    assert stored is not None and len(stored[0]) == 500


async def _declined_by_li(hub: Hub, admin: httpx.AsyncClient) -> str:
    """A verified incident dispatched to r-li, who declined; r-wang is off shift."""
    created = await admin.post("/api/responders", json={"id": "r-li", "availability": "available"})
    assert created.status_code == 201, created.text
    assert (await admin.post("/api/responders", json={"id": "r-wang"})).status_code == 201
    await hub.publish(make_alert())
    async with asyncio.timeout(5):
        while not (found := (await admin.get("/api/incidents")).json()["incidents"]):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    path = f"/api/incidents/{found[0]['id']}/events"
    for kind in ("claim", "verify"):
        assert (await admin.post(path, json={"type": kind})).status_code == 200
    sent = await admin.post(path, json={"type": "dispatch", "responder_id": "r-li"})
    assert sent.status_code == 200, sent.text
    li = {"Authorization": f"Bearer {created.json()['token']}"}
    declined = await admin.post(path, json={"type": "decline", "responder_id": "r-li"}, headers=li)
    assert declined.status_code == 200, declined.text
    return path


async def test_a_declined_responder_goes_again_only_by_override_with_a_reason(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        path = await _declined_by_li(hub, admin)
        ranked = (await admin.get(path.replace("/events", "/recommendations"))).json()
        overridable = {r["responder_id"]: r["overridable"] for r in ranked["rejected"]}
        assert overridable == {"r-li": True, "r-wang": False}
        again = {"type": "dispatch", "responder_id": "r-li"}
        plain = await admin.post(path, json=again)
        assert plain.status_code == 409, plain.text
        assert "declined" in plain.json()["detail"] and "override" in plain.json()["detail"]
        silent = await admin.post(path, json={**again, "override": True})
        assert silent.status_code == 422, silent.text

        sent = await admin.post(
            path, json={**again, "override": True, "reason": "phoned him, he is on his way"}
        )
        assert sent.status_code == 200, sent.text
        *_earlier, li = [a for a in sent.json()["assignments"] if a["responder_id"] == "r-li"]
        assert li["state"] == "notified"
        assert li["reasons"][0] == "dispatcher override: phoned him, he is on his way"
        assert any("declined" in reason for reason in li["reasons"][1:])
        audit = (await admin.get(path.replace("/events", "/audit"))).json()
        assert audit[-1]["why"] == "dispatched: phoned him, he is on his way"


async def test_an_off_shift_responder_cannot_be_overridden(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        path = await _declined_by_li(hub, admin)
        body = {"type": "dispatch", "responder_id": "r-wang", "override": True,
                "reason": "needed"}  # fmt: skip
        refused = await admin.post(path, json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == "r-wang cannot be dispatched: off shift"
        incident = (await admin.get(path.removesuffix("/events"))).json()
        assert "r-wang" not in {a["responder_id"] for a in incident["assignments"]}
