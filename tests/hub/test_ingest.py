"""Alert ingest a batch at a time: a malformed message is dead-lettered and the rest stored, a
newer revision in the same batch supersedes, pages get each fresh alert once, every alert is
linked to an incident, and a redelivered batch is counted as duplicates and pushed to nobody."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.contracts import STREAM_ALERTS, Level
from hub.ingest import AlertIngest
from hub.live import LiveFeed
from tests.hub.incident_world import EAST_CELL, World, alert
from xueliang.bus import InProcessBus, dead_letter_stream

GARBAGE = b'{"not": "an alert"}'


def batch() -> list[bytes]:
    return [
        alert("cam-1").model_dump_json().encode(),
        GARBAGE,
        alert("cam-1", revision=1, level=Level.ORANGE).model_dump_json().encode(),
        alert("cam-2", where=EAST_CELL).model_dump_json().encode(),
    ]


async def dead_letters(bus: InProcessBus) -> list[bytes]:
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def collect(items: list[bytes]) -> None:
        seen.extend(items)
        stop.set()

    stream = dead_letter_stream(STREAM_ALERTS)
    await asyncio.wait_for(bus.consume_batch(stream, "inspect", "t", collect, stop=stop), 5)
    return seen


async def test_a_batch_is_stored_pushed_and_linked_and_its_garbage_dead_lettered(
    world: World,
) -> None:
    bus, live = InProcessBus(), LiveFeed()
    page = live.subscribe()
    world.engine.on_change = lambda incident, _change: live.publish_incident(incident)  # as the app
    ingest = AlertIngest(world.alerts, live, bus, world.engine)
    await ingest.handle_batch(batch())
    await asyncio.sleep(0)  # the last frame leaves when the loop turns
    assert (ingest.stored, ingest.duplicates, ingest.malformed) == (2, 1, 1)
    assert await dead_letters(bus) == [GARBAGE]
    stored = await world.alerts.get(alert("cam-1").id)
    assert stored is not None and (stored.revision, stored.level) == (1, Level.ORANGE)
    frames = [json.loads(page.get_nowait() or "null") for _ in range(page.qsize())]
    pushed = [(a["camera_id"], a["revision"]) for f in frames for a in f["alerts"]]
    assert pushed == [("cam-1", 1), ("cam-2", 0)]
    changed = {i["id"]: i["alert_count"] for f in frames for i in f["incidents"]}
    assert list(changed.values()) == [1, 1]
    for item in (alert("cam-1"), alert("cam-2")):
        assert await world.engine.store.incident_of_alert(item.id) in changed

    await ingest.handle_batch(batch())  # redelivered: the hub died before acknowledging
    await asyncio.sleep(0)
    assert (ingest.stored, ingest.duplicates, ingest.malformed) == (2, 4, 2)
    assert page.empty()  # nothing new for the pages
    assert len(await world.changes()) == 2  # nor for the incidents
    await bus.close()


async def test_a_batch_leaves_as_one_frame_with_its_alerts_before_their_incidents(
    world: World,
) -> None:
    bus, live = InProcessBus(), LiveFeed()
    page = live.subscribe()
    world.engine.on_change = lambda incident, _change: live.publish_incident(incident)
    ingest = AlertIngest(world.alerts, live, bus, world.engine)
    await ingest.handle_batch(batch())
    await asyncio.sleep(0)
    assert page.qsize() == 1
    frame = json.loads(page.get_nowait() or "null")
    assert list(frame) == ["type", "alerts", "incidents"]
    assert len(frame["alerts"]) == 2 and len(frame["incidents"]) == 2
    await bus.close()


class FailingStore:
    """An alert store whose writes fail (a full disk, a lost database)."""

    def __init__(self, after_s: float = 0.01) -> None:
        self.after_s = after_s  # by default linking is under way beside it when it fails

    async def upsert_many(self, alerts: object) -> set[str]:
        await asyncio.sleep(self.after_s)
        raise OSError("disk full")


async def test_a_failed_alert_write_fails_the_batch_with_its_own_error(world: World) -> None:
    bus, live = InProcessBus(), LiveFeed()
    page = live.subscribe()
    ingest = AlertIngest(FailingStore(), live, bus, world.engine)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="disk full"):  # not wrapped: the bus logs and retries it
        await ingest.handle_batch(batch())
    await asyncio.sleep(0)
    assert ingest.stored == 0
    frames = [json.loads(page.get_nowait() or "null") for _ in range(page.qsize())]
    assert [a for f in frames for a in f["alerts"]] == []  # no alert that was not stored
    # Redelivered to a working store: stored, and linked exactly once.
    again = AlertIngest(world.alerts, live, bus, world.engine)
    await again.handle_batch(batch())
    assert again.stored == 2
    for item in (alert("cam-1"), alert("cam-2")):
        assert await world.engine.store.incident_of_alert(item.id) is not None
    await bus.close()


async def test_a_failed_alert_write_lets_linking_finish_its_transaction(world: World) -> None:
    """The alert write fails at once: linking beside it still runs to its commit (cancelled
    halfway, its connection could keep SQLite's write lock), and the next batch goes through."""
    bus, live = InProcessBus(), LiveFeed()
    ingest = AlertIngest(FailingStore(after_s=0), live, bus, world.engine)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="disk full"):
        await ingest.handle_batch(batch())
    for item in (alert("cam-1"), alert("cam-2", where=EAST_CELL)):
        assert await world.engine.store.incident_of_alert(item.id) is not None
    again = AlertIngest(world.alerts, live, bus, world.engine)
    async with asyncio.timeout(5):  # a held write lock would make this wait out the busy timeout
        await again.handle_batch(batch())
    assert again.stored == 2
    await bus.close()
