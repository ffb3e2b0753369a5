"""Live push over the WebSocket: new and updated alerts, no re-broadcast, origin and token."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import pytest
import websockets

from tests.factories import make_alert
from tests.hub.conftest import TOKEN, Hub


def ws_url(hub: Hub) -> str:
    return hub.base.replace("http://", "ws://") + "/ws/alerts"


async def receive(
    socket: websockets.ClientConnection, timeout_s: float = 5.0, kind: str = "alert"
) -> dict[str, object]:
    """The next alert or incident (`kind`) pushed, as `{"type": kind, kind: ...}`: frames are
    batches of alerts then incidents, and the other kind is skipped."""
    async with asyncio.timeout(timeout_s):
        while True:
            pending = _unread.setdefault(socket, [])
            while pending:
                item = pending.pop(0)
                if item["type"] == kind:
                    return item
            frame = json.loads(await socket.recv())
            assert frame["type"] == "batch" and set(frame) == {"type", "alerts", "incidents"}
            pending += [{"type": "alert", "alert": a} for a in frame["alerts"]]
            pending += [{"type": "incident", "incident": i} for i in frame["incidents"]]


# Items of a frame not returned yet, per socket.
_unread: weakref.WeakKeyDictionary[websockets.ClientConnection, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def test_an_alert_and_the_incident_it_opened_arrive_in_one_frame(hub: Hub) -> None:
    headers = {**hub.auth, "Origin": hub.base}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        await asyncio.sleep(0.1)
        alert = make_alert()
        await hub.publish(alert)
        frame = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert [a["id"] for a in frame["alerts"]] == [alert.id]  # alerts, then their incidents
        (incident,) = frame["incidents"]
        assert incident["alert_count"] == 1 and "alerts" not in incident
        assert incident["state"] == "pending_review"


async def test_new_and_updated_alerts_are_pushed_once(hub: Hub) -> None:
    headers = {**hub.auth, "Origin": hub.base}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        await asyncio.sleep(0.1)  # subscribed before the first publish
        first = make_alert(revision=0)
        await hub.publish(first)
        message = await receive(socket)
        assert message["type"] == "alert"
        assert message["alert"]["id"] == first.id and message["alert"]["revision"] == 0  # type: ignore[index]
        await hub.publish(first)  # redelivered: stored already, not pushed again
        update = make_alert(revision=1, people=14)
        await hub.publish(update)
        message = await receive(socket)
        assert message["alert"]["revision"] == 1  # type: ignore[index]
        assert message["alert"]["people_count"] == 14  # type: ignore[index]
        await hub.publish(first)  # a late, lower revision: ignored, not pushed
        await hub.publish(make_alert(revision=2, people=20))
        message = await receive(socket)
        assert message["alert"]["revision"] == 2  # type: ignore[index]


async def test_cookie_session_works_for_the_socket(hub: Hub) -> None:
    headers = {"Cookie": f"xl_session={TOKEN}", "Origin": hub.base}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        await asyncio.sleep(0.1)
        await hub.publish(make_alert())
        assert (await receive(socket))["type"] == "alert"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},  # another site riding the operator's cookie
        {},  # no token at all
        {"Authorization": "Bearer wrong"},
    ],
    ids=["foreign-origin", "no-token", "wrong-token"],
)
async def test_socket_refused(hub: Hub, headers: dict[str, str]) -> None:
    if "Origin" in headers:
        headers = {**hub.auth, **headers}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008  # policy violation


async def test_an_origin_on_the_allowed_list_is_accepted(hub: Hub) -> None:
    hub.settings.allowed_origins.append("https://console.example")
    headers = {**hub.auth, "Origin": "https://console.example"}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        await asyncio.sleep(0.1)
        await hub.publish(make_alert())
        assert (await receive(socket))["type"] == "alert"


async def wait_clients(hub: Hub, count: int, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while hub.live.clients != count:  # noqa: ASYNC110 (the hub subscribes and unsubscribes)
            await asyncio.sleep(0.02)


async def test_a_page_that_leaves_is_unsubscribed(hub: Hub) -> None:
    headers = {**hub.auth, "Origin": hub.base}
    async with websockets.connect(ws_url(hub), additional_headers=headers):
        await wait_clients(hub, 1)
    await wait_clients(hub, 0)  # no frame was queued: the reader noticed the close itself
    await hub.publish(make_alert())  # and publishing to nobody is fine
    await hub.wait_stored(1)


async def test_a_page_the_feed_drops_is_closed_with_1013(hub: Hub) -> None:
    headers = {**hub.auth, "Origin": hub.base}
    async with websockets.connect(ws_url(hub), additional_headers=headers) as socket:
        await wait_clients(hub, 1)
        (queue,) = list(hub.live._clients)
        hub.live.close(queue)  # what the feed does to a page too far behind
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    await wait_clients(hub, 0)
