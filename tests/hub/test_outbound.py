"""The outbound relay's core: backoff, alarm cadence, order, retries, cursors, wake-ups.

`MemoryOutbox` (the `Outbox` protocol over a list and a dict) and `change_entries` serve the
webhook and MQTT tests too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from hub.contracts import GeoPoint, Level
from hub.outbound import DeliveryError
from hub.outbound.relay import Alarm, Backoff, Relay, Relays
from hub.outbox import IncidentChange, OutboxEntry

FAST = Backoff(base_s=0.01, cap_s=0.05, jitter=0.0)
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


class MemoryOutbox:
    """The Outbox protocol in memory: entries in id order, one cursor per sink."""

    def __init__(self) -> None:
        self.entries: list[OutboxEntry] = []
        self.cursors: dict[str, int] = {}
        self.advances: list[tuple[str, int]] = []

    def add(self, *entries: OutboxEntry) -> None:
        self.entries.extend(entries)

    async def entries_after(self, cursor: int, limit: int) -> list[OutboxEntry]:
        return [entry for entry in self.entries if entry.id > cursor][:limit]

    async def cursor(self, sink: str) -> int:
        return self.cursors.get(sink, 0)

    async def advance(self, sink: str, cursor: int) -> None:
        self.advances.append((sink, cursor))
        self.cursors[sink] = max(self.cursors.get(sink, 0), cursor)


def change_entries(count: int, first_id: int = 1, incidents: int = 2) -> list[OutboxEntry]:
    """`count` entries over `incidents` incidents, versions climbing per incident."""
    entries = []
    for offset in range(count):
        incident_id = f"inc-{offset % incidents}"
        at = T0 + timedelta(seconds=offset)
        change = IncidentChange(
            incident_id=incident_id,
            version=offset // incidents + 1,
            at=at,
            event="dispatch",
            actor_id="operator-1",
            state="assigned",
            colour=Level.ORANGE,
            gb_priority=2,
            kind="crowd",
            grid_cell="cell-7",
            location=GeoPoint(lat=31.23, lon=121.47),
            responder_id="resp-3",
            why="nearest available",
        )
        entries.append(OutboxEntry(first_id + offset, incident_id, at, change.model_dump_json()))
    return entries


class ScriptedSink:
    """Records deliveries; `fail(id, times)` makes an entry fail that many times first."""

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        self.attempts: list[int] = []
        self.accepted: list[int] = []
        self.failures_left: dict[int, int] = {}
        self.permanent = False
        self.closed = False

    async def deliver(self, entry: OutboxEntry) -> None:
        self.attempts.append(entry.id)
        if self.failures_left.get(entry.id, 0) > 0:
            self.failures_left[entry.id] -= 1
            raise DeliveryError("receiver said no", permanent=self.permanent)
        self.accepted.append(entry.id)

    async def aclose(self) -> None:
        self.closed = True


async def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (polls state owned by the code under test)
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


def test_backoff_doubles_from_half_a_second_to_thirty_with_bounded_jitter() -> None:
    backoff = Backoff()
    assert [backoff.delay_s(n, 0.5) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay_s(0, 0.0) == pytest.approx(0.4)
    assert backoff.delay_s(0, 0.999999) == pytest.approx(0.6)
    assert backoff.delay_s(10_000, 0.5) == 30.0


def test_alarm_warns_at_first_failure_then_every_five_minutes_then_errors_after_a_day() -> None:
    alarm = Alarm()
    assert alarm.level(0.0, None) == logging.WARNING
    assert alarm.level(120.0, 120.0) is None
    assert alarm.level(301.0, 301.0) == logging.WARNING
    assert alarm.level(24 * 3600.0, 299.0) is None
    assert alarm.level(24 * 3600.0, 300.0) == logging.ERROR


async def test_failed_entry_is_retried_before_any_later_one_and_none_is_skipped() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(5))
    sink.failures_left[2] = 3
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    async with running(relay):
        await wait_for(lambda: len(sink.accepted) == 5)
    assert sink.accepted == [1, 2, 3, 4, 5]
    assert sink.attempts == [1, 2, 2, 2, 2, 3, 4, 5]
    assert (relay.stats.delivered, relay.stats.failures, relay.stats.cursor) == (5, 3, 5)
    assert outbox.cursors["scripted"] == 5
    assert sink.closed


async def test_progress_is_saved_before_a_failing_entry_waits() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(4))
    sink.failures_left[3] = 10**6
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    async with running(relay):
        await wait_for(lambda: relay.stats.failures >= 3)
        assert outbox.cursors["scripted"] == 2  # a crash now redoes entry 3 only
        assert relay.stats.lag_s(T0 + timedelta(seconds=60)) == 58.0
    assert sink.accepted == [1, 2]


async def test_restarted_relay_resumes_after_the_saved_cursor() -> None:
    outbox, first = MemoryOutbox(), ScriptedSink("gateway")
    outbox.add(*change_entries(3))
    async with running(Relay(outbox, first, poll_s=0.05)):
        await wait_for(lambda: outbox.cursors.get("gateway") == 3)
    outbox.add(*change_entries(2, first_id=4))
    second = ScriptedSink("gateway")
    async with running(Relay(outbox, second, poll_s=0.05)):
        await wait_for(lambda: len(second.accepted) == 2)
    assert second.attempts == [4, 5]


async def test_batches_are_drained_back_to_back_and_cursor_saved_per_batch() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(25))
    relay = Relay(outbox, sink, batch=10, poll_s=0.05)
    async with running(relay):
        await wait_for(lambda: outbox.cursors.get("scripted") == 25)
    assert sink.accepted == list(range(1, 26))
    assert [cursor for _, cursor in outbox.advances] == [10, 20, 25]


async def test_wake_delivers_a_new_entry_without_waiting_for_the_poll() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    relay = Relay(outbox, sink, poll_s=3600)
    first, second = change_entries(2)
    outbox.add(first)
    async with running(relay):
        await wait_for(lambda: sink.accepted == [1])  # then idle for the hour-long poll
        outbox.add(second)
        relay.wake()
        await wait_for(lambda: sink.accepted == [1, 2])


async def test_outbox_failure_is_retried_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    class FlakyOutbox(MemoryOutbox):
        failures = 2

        async def entries_after(self, cursor: int, limit: int) -> list[OutboxEntry]:
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("database gone: password=hunter2")
            return await super().entries_after(cursor, limit)

    outbox, sink = FlakyOutbox(), ScriptedSink()
    outbox.add(*change_entries(2))
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    with caplog.at_level(logging.DEBUG):
        async with running(relay):
            await wait_for(lambda: sink.accepted == [1, 2])
    assert relay.stats.failures == 2
    assert "ConnectionError" in caplog.text
    assert "hunter2" not in caplog.text  # only the type of an unexpected error is logged


async def test_a_long_outage_is_logged_once_per_interval_and_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now_s = [0.0]
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(1))
    sink.failures_left[1] = 6

    def clock() -> float:
        now_s[0] += 100.0  # each failure is 100 s after the previous one
        return now_s[0]

    relay = Relay(outbox, sink, backoff=FAST, alarm=Alarm(every_s=250), clock=clock)
    with caplog.at_level(logging.INFO, logger="xueliang.hub.outbound"):
        async with running(relay):
            await wait_for(lambda: sink.accepted == [1])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # failures at 100 s (first) and 400 s (250 s later); 6 failures
    assert "receiver said no" in warnings[0].getMessage()
    assert "never skipped" in warnings[0].getMessage()
    assert sum("recovered" in r.getMessage() for r in caplog.records) == 1


async def test_permanent_errors_wait_the_backoff_cap() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(1))
    sink.failures_left[1], sink.permanent = 2, True
    delays: list[float] = []

    class Recording(Backoff):
        def delay_s(self, attempt: int, rand: float) -> float:
            delays.append(super().delay_s(attempt, rand))
            return 0.01

    relay = Relay(outbox, sink, backoff=Recording(jitter=0.0))
    async with running(relay):
        await wait_for(lambda: sink.accepted == [1])
    assert delays == [30.0, 30.0]


async def test_stop_ends_a_relay_stuck_in_backoff_and_saves_its_cursor() -> None:
    outbox, sink = MemoryOutbox(), ScriptedSink()
    outbox.add(*change_entries(2))
    sink.failures_left[2] = 10**6
    relays = Relays(outbox, [sink], backoff=Backoff(base_s=3600, cap_s=3600))
    relays.start()
    await wait_for(lambda: 2 in sink.attempts)
    await relays.stop(timeout_s=20)
    assert outbox.cursors["scripted"] == 1
    assert sink.closed


def test_relays_refuse_two_sinks_with_one_cursor_name() -> None:
    with pytest.raises(ValueError, match="unique"):
        Relays(MemoryOutbox(), [ScriptedSink("a"), ScriptedSink("a")])
