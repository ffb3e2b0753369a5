"""The parts of `bench/hub.py` that run outside the hub: the alerts, the paced publisher, the
console process (N WebSocket clients) and the figures. Kept apart so the child processes import
no more than they need."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import httpx
import numpy as np
import websockets

from hub.auth import SESSION_COOKIE
from hub.contracts import (
    STREAM_ALERTS,
    Alert,
    AlertKind,
    AlertStatus,
    Box,
    DetectionSummary,
    GeoPoint,
    Level,
    alert_id,
)
from xueliang.bus import Bus

HUB_GROUP = "hub"  # the group create_app consumes alerts with
ALERT_ID = re.compile(r'\{"id":"([0-9a-f-]{36})"')  # an alert object's first field
INCIDENTS_PART = '],"incidents":['  # where a live frame's alerts end
DRAIN_IDLE_S = 10.0  # consoles stop waiting once no alert arrived for this long
PEOPLE = 9


@dataclass(frozen=True)
class PublishJob:
    rate: float  # alerts/s; 0: closed loop
    seconds: float
    window: int  # closed loop: most alerts unacknowledged by the hub
    capacity: int  # alerts prepared
    cameras: int
    start_iso: str  # alerts' start times count from here: ids are unique per run
    base: float  # time.monotonic() that all recorded times are relative to


@dataclass(frozen=True)
class ConsoleJob:
    base_url: str
    token: str
    consoles: int
    capacity: int
    cameras: int
    start_iso: str
    base: float


@dataclass(frozen=True)
class Published:
    times: np.ndarray[Any, np.dtype[np.float64]]  # publish time of each alert, seconds from base
    late_max_s: float  # how far behind its schedule the publisher fell (open loop)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _camera(seq: int, cameras: int) -> tuple[str, GeoPoint, str]:
    n = seq % cameras
    # 0.01 degree apart (about 1 km): places far enough apart not to merge into one incident.
    where = GeoPoint(lat=30.5 + 0.01 * (n // 40), lon=104.0 + 0.01 * (n % 40))
    return f"bench-{n:04d}", where, f"grid-{n:04d}"


def _started_at(seq: int, start: datetime) -> datetime:
    return start + timedelta(milliseconds=seq)


def bench_alert_id(seq: int, cameras: int, start: datetime) -> str:
    return alert_id(_camera(seq, cameras)[0], "plaza", "crowd", _started_at(seq, start))


def bench_alert(seq: int, cameras: int, start: datetime) -> Alert:
    """A new crowd alert as a worker reports it: people boxes, an evidence name."""
    camera_id, where, cell = _camera(seq, cameras)
    started_at = _started_at(seq, start)
    unique = alert_id(camera_id, "plaza", "crowd", started_at)
    boxes = [
        Box(x1=0.05 + 0.1 * i, y1=0.4, x2=0.1 + 0.1 * i, y2=0.62, confidence=0.87, label="person")
        for i in range(PEOPLE)
    ]
    return Alert(
        id=unique, revision=0, camera_id=camera_id, camera_name=f"Plaza {camera_id}",
        kind=AlertKind.CROWD_GATHERING, level=Level.YELLOW, status=AlertStatus.ACTIVE,
        started_at=started_at, updated_at=started_at + timedelta(seconds=5),
        people_count=PEOPLE, peak_people=PEOPLE, zone_id="plaza", rule_id="crowd",
        location=where, grid_cell=cell, snapshot_ref=f"{unique}.jpg",
        detections=DetectionSummary(
            people_in_zone=PEOPLE, people_in_frame=PEOPLE + 2, boxes=boxes, model="yolo11n.pt"
        ),
    )  # fmt: skip


def payloads(job: PublishJob) -> list[bytes]:
    """The run's alerts as the bus carries them, made before the clock starts."""
    start = datetime.fromisoformat(job.start_iso)
    return [bench_alert(seq, job.cameras, start).model_dump_json().encode()
            for seq in range(job.capacity)]  # fmt: skip


async def publish(bus: Bus, job: PublishJob, messages: list[bytes]) -> Published:
    """Open loop: alert i is due at start + i / rate; its latency counts from then. Closed loop:
    publish in chunks, each once the hub's group has fewer than `window - chunk` unacknowledged."""
    times = np.full(job.capacity, np.nan)
    chunk = max(1, job.window // 4)
    late_max_s = 0.0
    began = time.monotonic()
    count = 0
    for seq, data in enumerate(messages):
        now = time.monotonic()
        if job.rate > 0:
            due = began + seq / job.rate
            if due > now:
                await asyncio.sleep(due - now)
            else:
                late_max_s = max(late_max_s, now - due)
            times[seq] = due - job.base
        else:
            if now - began >= job.seconds:
                break
            if seq % chunk == 0:
                # The hub's group may be in another process: poll it.
                while await bus.backlog(STREAM_ALERTS, HUB_GROUP) > job.window - chunk:  # noqa: ASYNC110
                    await asyncio.sleep(0.002)
            times[seq] = time.monotonic() - job.base
        await bus.publish(STREAM_ALERTS, data)
        count += 1
    return Published(times[:count], late_max_s)


def publisher_main(redis_url: str, job: PublishJob, conn: Connection) -> None:
    from xueliang.bus.redis_streams import RedisStreamsBus

    messages = payloads(job)

    async def run() -> Published:
        bus = RedisStreamsBus(redis_url)
        try:
            return await publish(bus, job, messages)
        finally:
            await bus.close()

    conn.send(("published", {"published": asyncio.run(run())}))


def consoles_main(job: ConsoleJob, conn: Connection) -> None:
    try:
        asyncio.run(_consoles(job, conn))
    except Exception as error:  # tell the hub process, which waits on the pipe
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        raise


@dataclass
class _Receipts:
    """While the run lasts a console only notes (time, ids) per frame: matching ids to alerts
    waits until the end, so that the consoles' process spends its core on receiving."""

    frames: list[list[tuple[float, list[str]]]]  # per console
    counts: np.ndarray[Any, np.dtype[np.int64]]  # ids received per console
    last_s: float = 0.0
    dropped: int = 0
    ending: bool = False

    def table(self, index: dict[str, int], total: int, base: float) -> tuple[Any, int]:
        """[console, alert] receipt times (seconds from base, NaN: never), and duplicates."""
        at = np.full((len(self.frames), total), np.nan, dtype=np.float32)
        duplicates = 0
        for console, frames in enumerate(self.frames):
            row = at[console]
            for now, ids in frames:
                for found in ids:
                    seq = index.get(found, total)
                    if seq >= total:
                        continue  # not this run's (a scratch Redis with older alerts)
                    if row[seq] == row[seq]:  # not NaN: received already
                        duplicates += 1
                    else:
                        row[seq] = now - base
        return at, duplicates


async def _consoles(job: ConsoleJob, conn: Connection) -> None:
    start = datetime.fromisoformat(job.start_iso)
    index = {bench_alert_id(seq, job.cameras, start): seq for seq in range(job.capacity)}
    receipts = _Receipts([[] for _ in range(job.consoles)], np.zeros(job.consoles, np.int64))
    async with httpx.AsyncClient(base_url=job.base_url) as http:
        session = await http.post("/api/session", json={"token": job.token})
        session.raise_for_status()
        cookie = session.cookies[SESSION_COOKIE]
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": job.base_url}
    url = job.base_url.replace("http://", "ws://") + "/ws/alerts"
    sockets = [
        await websockets.connect(url, additional_headers=headers, max_size=None)
        for _ in range(job.consoles)
    ]
    tasks = [
        asyncio.create_task(_receive(socket_, receipts, i))
        for i, socket_ in enumerate(sockets)
    ]
    cpu_before = time.process_time()
    conn.send(("ready", {}))
    _kind, expect = await asyncio.to_thread(conn.recv)
    total = int(expect)
    receipts.last_s = time.monotonic()
    while receipts.counts.min() < total and time.monotonic() - receipts.last_s < DRAIN_IDLE_S:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # every console's task updates the counts: poll them
    receipts.ending = True
    cpu_s = time.process_time() - cpu_before
    for socket_ in sockets:
        await socket_.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    at, duplicates = receipts.table(index, total, job.base)
    conn.send(("done", {
        "at": at, "duplicates": duplicates, "dropped": receipts.dropped, "cpu_s": cpu_s,
    }))  # fmt: skip


async def _receive(connection: Any, receipts: _Receipts, console: int) -> None:
    frames = receipts.frames[console]
    try:
        async for message in connection:
            now = time.monotonic()
            text = message if isinstance(message, str) else message.decode()
            # A frame is {"type":"batch","alerts":[...],"incidents":[...]}: alerts only.
            ids = ALERT_ID.findall(text.split(INCIDENTS_PART, 1)[0])
            frames.append((now, ids))
            receipts.counts[console] += len(ids)
            receipts.last_s = now
    except websockets.ConnectionClosed:
        pass
    if not receipts.ending:
        receipts.dropped += 1  # the hub closed it (too slow) or the connection failed


def figures(sent: Published, received: dict[str, Any]) -> dict[str, Any]:
    published = sent.times
    at: np.ndarray[Any, Any] = received["at"]
    got = ~np.isnan(at)
    latency_ms = (at.astype(np.float64) - published[None, :])[got] * 1000
    everyone = got.all(axis=0)
    delivered = int(everyone.sum())
    duration_s = float(np.nanmax(at[:, everyone])) - float(published.min()) if delivered else 0.0

    def pct(q: float) -> float | None:
        return round(float(np.percentile(latency_ms, q)), 1) if latency_ms.size else None

    return {
        "published": len(published),
        "publish_late_max_ms": round(sent.late_max_s * 1000, 1),
        "delivered": delivered,
        "alerts_per_s": round(delivered / duration_s, 1) if duration_s > 0 else 0.0,
        "missing": int((~got).sum()),
        "alerts_missing": int((~everyone).sum()),
        "duplicates": int(received["duplicates"]),
        "dropped_consoles": int(received["dropped"]),
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
        "max_ms": round(float(latency_ms.max()), 1) if latency_ms.size else None,
    }  # fmt: skip
