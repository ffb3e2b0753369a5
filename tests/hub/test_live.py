"""Live push: what is published in one loop turn leaves as one frame (alerts in order, each
incident once at its latest version, no people boxes); a page that stops reading is dropped and
ingest never waits for it."""

from __future__ import annotations

import asyncio
import json

from hub.contracts import Box, DetectionSummary, GeoPoint, Level
from hub.lifecycle import open_incident
from hub.live import CLIENT_QUEUE_SIZE, LiveFeed
from tests.factories import T0, make_alert


def test_a_slow_client_is_dropped_and_the_others_keep_receiving() -> None:
    feed = LiveFeed()
    slow = feed.subscribe()
    fast = feed.subscribe()
    for revision in range(CLIENT_QUEUE_SIZE + 1):
        feed.publish(make_alert(revision=revision))  # never blocks, even with a full queue
        while not fast.empty():
            last = fast.get_nowait()
    assert feed.clients == 1  # the slow one is gone
    drained = [slow.get_nowait() for _ in range(slow.qsize())]
    assert drained[-1] is None  # its socket loop is told to close
    assert last is not None
    message = json.loads(last)
    assert message["type"] == "batch"
    assert [a["revision"] for a in message["alerts"]] == [CLIENT_QUEUE_SIZE]


def test_unsubscribed_clients_receive_nothing() -> None:
    feed = LiveFeed()
    queue = feed.subscribe()
    feed.unsubscribe(queue)
    feed.publish(make_alert())
    assert queue.empty() and feed.clients == 0


async def test_one_loop_turn_is_one_frame_with_each_incident_at_its_latest_version() -> None:
    feed = LiveFeed()
    queue = feed.subscribe()
    incident = open_incident("inc-1", kind="crowd_gathering", colour=Level.YELLOW, at=T0,
                             location=GeoPoint(lat=30.657, lon=104.066))  # fmt: skip
    newer = incident.model_copy(update={"version": 2, "colour": Level.ORANGE})
    box = Box(x1=0.1, y1=0.4, x2=0.2, y2=0.6, confidence=0.9, label="person")
    for camera in ("cam-1", "cam-2", "cam-3"):
        seen = DetectionSummary(people_in_zone=1, people_in_frame=1, boxes=[box])
        feed.publish(make_alert(camera, detections=seen))
    feed.publish_incident(newer)
    feed.publish_incident(incident)  # an older version, published late: not pushed
    assert queue.empty()  # sent when the loop turns, not per call
    await asyncio.sleep(0)
    frame = json.loads(queue.get_nowait() or "null")
    assert queue.empty()
    assert [a["camera_id"] for a in frame["alerts"]] == ["cam-1", "cam-2", "cam-3"]
    pushed = [a["detections"] for a in frame["alerts"]]
    assert all("boxes" not in seen and seen["people_in_zone"] == 1 for seen in pushed)
    assert [(i["id"], i["version"], i["colour"], i["alert_count"]) for i in frame["incidents"]] == [
        ("inc-1", 2, "orange", 0)
    ]
    assert "alerts" not in frame["incidents"][0]
    feed.publish(make_alert("cam-4"))
    await asyncio.sleep(0)
    assert [a["camera_id"] for a in json.loads(queue.get_nowait() or "null")["alerts"]] == ["cam-4"]


async def test_pushed_alerts_and_incidents_leave_out_their_null_fields() -> None:
    """Every frame goes to every page: nulls are left out (the page reads them as null),
    everything set is kept."""
    feed = LiveFeed()
    queue = feed.subscribe()
    incident = open_incident("inc-1", kind="crowd_gathering", colour=Level.YELLOW, at=T0,
                             location=GeoPoint(lat=30.657, lon=104.066))  # fmt: skip
    claimed = incident.model_copy(update={"version": 1, "claimed_by": "op-li"})
    reported = make_alert("cam-1")
    feed.publish(reported)
    feed.publish_incident(claimed)
    await asyncio.sleep(0)
    frame = json.loads(queue.get_nowait() or "null")
    (alert,), (pushed,) = frame["alerts"], frame["incidents"]
    stored_alert = json.loads(reported.model_dump_json(exclude={"detections": {"boxes"}}))
    assert alert == {k: v for k, v in stored_alert.items() if v is not None}
    assert reported.ended_at is None and "ended_at" not in alert
    assert pushed["claimed_by"] == "op-li"
    assert pushed["location"] == {"lat": 30.657, "lon": 104.066}
    assert claimed.closed_at is None and "closed_at" not in pushed
    assert None not in pushed.values()


async def test_a_held_batch_keeps_back_only_what_its_own_task_publishes() -> None:
    """Ingest holds its batch's frame until the batch ends; an operator's change published by
    another task meanwhile is sent at once, and a task the batch started that publishes after
    the batch ended is not kept back either."""
    feed = LiveFeed()
    queue = feed.subscribe()
    batch_may_end, batch_ended = asyncio.Event(), asyncio.Event()
    late: list[asyncio.Task[None]] = []

    async def later() -> None:
        await batch_ended.wait()
        feed.publish(make_alert("cam-late"))

    async def ingest() -> None:
        with feed.holding():
            feed.publish(make_alert("cam-batch"))
            late.append(asyncio.create_task(later()))
            await batch_may_end.wait()

    batch = asyncio.create_task(ingest())
    await asyncio.sleep(0)
    claimed = open_incident("inc-op", kind="crowd_gathering", colour=Level.RED, at=T0)
    feed.publish_incident(claimed)  # a route's change, in its own task
    async with asyncio.timeout(1):
        first = json.loads(await queue.get() or "null")
    assert ([a["camera_id"] for a in first["alerts"]], [i["id"] for i in first["incidents"]]) == (
        [],
        ["inc-op"],
    )
    assert queue.empty()  # the batch's alert waits for its batch
    batch_may_end.set()
    await batch
    async with asyncio.timeout(1):
        second = json.loads(await queue.get() or "null")
        batch_ended.set()
        await late[0]
        third = json.loads(await queue.get() or "null")
    assert [a["camera_id"] for a in second["alerts"]] == ["cam-batch"]
    assert [a["camera_id"] for a in third["alerts"]] == ["cam-late"]
