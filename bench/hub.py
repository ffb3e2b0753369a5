"""Hub throughput bench: alerts per second end to end, bus -> store -> WebSocket to N consoles.

    .venv/bin/python bench/hub.py [--consoles 200] [--rate 2500] [--seconds 20]
        [--database-url URL] [--redis-url URL] [--max-batch N] [--ws-deflate] [--ws IMPL]
        [--default-gc] [--profile PATH] [--json-out PATH]

A real hub: `create_app` served by uvicorn on a loopback port, SQLite in a temporary folder
unless `--database-url` (PostgreSQL: give a scratch database), the in-process bus unless
`--redis-url` (a scratch Redis the user started: the bench publishes to the hub's alert stream).
Each console opens a session (POST /api/session, then the cookie) and the alert WebSocket, as
the operator page does. Every alert is unique and shaped like a worker's (nine boxes, an evidence
name), from `--cameras` cameras at distinct places. `--rate R` publishes R alerts per second for
`--seconds` (open loop: latency counts from each alert's scheduled time, so a hub or publisher
that falls behind shows as latency, not as a slower schedule); `--rate 0` publishes as fast as
the hub takes them (closed loop: at most `--window` alerts unacknowledged by the hub's group).

Measured: latency from publish to receipt at every console (p50/p90/p99/max over all receipts);
`alerts_per_s`, alerts received by every console per second from the first publish to the last
receipt; `missing`, receipts that never came (must be 0); CPU of each process, and of the
hub's event-loop thread alone (`hub_loop_cpu_pct`: below 100 % the loop is waiting).
Target (issue 5): >= 2,000 alerts/s with p99 under 500 ms to 200 consoles on the 2-core CPU machine.

Processes: the consoles run in a process of their own (multiprocessing, spawn). 200 WebSocket
clients reading every alert cost about as much CPU as the hub sending them; in one event loop
the hub would be starved by its own bench and measure itself. So on 2 cores the hub has one
core and the consoles the other. With the in-process bus the publisher runs in the hub's process
(it has to: that bus is the process's memory; a publish is a deque append); with Redis it runs in
a third process, as a worker would. All times are time.monotonic() (CLOCK_MONOTONIC), one clock
for every process of a Linux machine.

The hub is measured as `xueliang hub` runs it: alerts consumed from the bus in batches of up to
`--max-batch` (XUELIANG_INGEST_BATCH), stored and linked to incidents in one transaction each,
one WebSocket frame per batch, and with the collector settings of `hub/runtime.py` (`--default-gc`:
CPython's). `--ws-deflate` turns on uvicorn's per-message WebSocket
compression (off, as in `xueliang hub`); `--ws` picks uvicorn's WebSocket implementation (`auto`,
as in `xueliang hub`, or `websockets`, `websockets-sansio`, `wsproto`). `--profile PATH` writes
the hub process's cProfile stats (its main thread only: SQLite's work in aiosqlite's thread does
not show). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _hub_parts as parts  # noqa: E402
from bench.record import emit, stamp  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.runtime import tune_gc_for_serving  # noqa: E402
from hub.settings import HubSettings  # noqa: E402
from hub.store import AlertStore  # noqa: E402
from xueliang.bus import Bus, make_bus  # noqa: E402

CLOSED_LOOP_MAX_RATE = 5_000  # alerts/s: sizes the closed loop's alert list


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2500, help="alerts/s; 0: closed loop")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cameras", type=int, default=1000, help="places alerts come from")
    parser.add_argument("--window", type=int, default=1000, help="closed loop: most in flight")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--redis-url", help="default: the in-process bus")
    parser.add_argument(
        "--max-batch", type=int, default=HubSettings.model_fields["ingest_batch"].default,
        help="the hub's ingest batch",
    )
    parser.add_argument("--ws-deflate", action="store_true", help="per-message compression on")
    parser.add_argument(
        "--ws", default="auto", choices=("auto", "websockets", "websockets-sansio", "wsproto"),
        help="uvicorn's WebSocket implementation",
    )
    parser.add_argument(
        "--default-gc", action="store_true", help="CPython's collector settings, not the hub's"
    )
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    parser.add_argument("--profile", type=Path, help="write the hub's cProfile stats here")
    args = parser.parse_args(argv)
    if args.consoles < 1 or args.rate < 0 or args.seconds <= 0:
        parser.error("--consoles >= 1, --rate >= 0 and --seconds > 0")
    result = asyncio.run(run(args))
    print_table(result)
    emit(result, args.json_out)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    capacity = int((args.rate or CLOSED_LOOP_MAX_RATE) * args.seconds)
    with tempfile.TemporaryDirectory(prefix="xl-bench-hub-") as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{tmp}/hub.db"
        token = secrets.token_urlsafe(24)
        settings = HubSettings(
            database_url=database_url, evidence_dir=Path(tmp), api_token=SecretStr(token),
            port=parts.free_port(), redis_url=args.redis_url, ingest_batch=args.max_batch,
        )  # fmt: skip
        bus = make_bus(args.redis_url)
        store = await AlertStore.open(database_url)
        try:
            app = create_app(settings, bus, store)
            server = uvicorn.Server(uvicorn.Config(
                app, host="127.0.0.1", port=settings.port, log_level="warning", access_log=False,
                ws_per_message_deflate=args.ws_deflate, ws=args.ws,
            ))  # fmt: skip
            if not args.default_gc:
                tune_gc_for_serving()  # as `xueliang hub` does
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    raise RuntimeError("the hub did not start")
                await asyncio.sleep(0.02)
            try:
                measured = await _measure(args, app.state.live, bus, settings, token, capacity)
            finally:
                server.should_exit = True
                await serving
        finally:
            await bus.close()
            await store.close()
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    return {
        "bench": "hub", **stamp(), "consoles": args.consoles, "rate": args.rate,
        "seconds": args.seconds, "cameras": args.cameras, "database": backend,
        "bus": "redis" if args.redis_url else "inprocess", "incidents": True,
        "max_batch": args.max_batch, "gc": "default" if args.default_gc else "hub",
        "ws_deflate": args.ws_deflate, "ws": args.ws, **measured,
    }  # fmt: skip


async def _measure(
    args: argparse.Namespace, live: Any, bus: Bus, settings: HubSettings, token: str, capacity: int
) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    base = time.monotonic()
    start_iso = parts.run_start().isoformat()
    hub_end, console_end = spawn.Pipe()
    console_job = parts.ConsoleJob(
        f"http://127.0.0.1:{settings.port}", token, args.consoles, capacity, args.cameras,
        start_iso, base,
    )  # fmt: skip
    consoles = spawn.Process(target=parts.consoles_main, args=(console_job, console_end))
    consoles.start()
    try:
        await _expect(hub_end, "ready", timeout_s=120)
        async with asyncio.timeout(60):
            while live.clients < args.consoles:  # noqa: ASYNC110 (the hub subscribes them)
                await asyncio.sleep(0.05)
        job = parts.PublishJob(
            args.rate, args.seconds, args.window, capacity, args.cameras, start_iso, base
        )
        messages = parts.payloads(job) if args.redis_url is None else []
        profiler = cProfile.Profile() if args.profile else None
        cpu_before, machine_before = os.times(), _machine_jiffies()
        loop_before = time.thread_time()  # this thread runs the hub's event loop
        if profiler is not None:
            profiler.enable()
        if args.redis_url is None:
            sent = await parts.publish(bus, job, messages)
        else:
            sent = await _publish_elsewhere(spawn, args.redis_url, job)
        hub_end.send(("expect", len(sent.times)))
        received = await _expect(hub_end, "done", timeout_s=600)
        if profiler is not None:
            profiler.disable()
            _write_profile(profiler, args.profile)
        cpu_after, machine_after = os.times(), _machine_jiffies()
        loop_cpu_s = time.thread_time() - loop_before
    finally:
        consoles.join(timeout=30)
        if consoles.is_alive():
            consoles.kill()
    wall_s = cpu_after.elapsed - cpu_before.elapsed
    hub_cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    figures = parts.figures(sent, received)
    figures["hub_cpu_pct"] = round(100 * hub_cpu_s / wall_s, 1)
    figures["consoles_cpu_pct"] = round(100 * received["cpu_s"] / wall_s, 1)
    # The event loop's own thread: under 100 % while the hub falls behind means the loop
    # waits (on its database threads, or for a core), not that it runs out of CPU.
    figures["hub_loop_cpu_pct"] = round(100 * loop_cpu_s / wall_s, 1)
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    # Every core's share: what the machine did besides the bench shows as other_cpu_pct.
    cores = os.cpu_count() or 1
    figures["machine_busy_pct"] = round(100 * busy / max(total, 1), 1)
    figures["other_cpu_pct"] = round(
        max(0.0, cores * figures["machine_busy_pct"] - figures["hub_cpu_pct"]
            - figures["consoles_cpu_pct"]), 1
    )  # fmt: skip
    return figures


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (Linux)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0, 0
    ticks = [int(value) for value in first]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


async def _publish_elsewhere(
    spawn: Any, redis_url: str, job: parts.PublishJob
) -> parts.Published:
    """The publisher in a process of its own, on its own connection (a worker's place)."""
    here, there = spawn.Pipe()
    process = spawn.Process(target=parts.publisher_main, args=(redis_url, job, there))
    process.start()
    try:
        reply = await _expect(here, "published", timeout_s=job.seconds * 20 + 120)
    finally:
        process.join(timeout=30)
    published: parts.Published = reply["published"]
    return published


async def _expect(conn: Connection, kind: str, timeout_s: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        got, payload = await asyncio.to_thread(conn.recv)
    if got != kind:
        raise RuntimeError(f"expected {kind!r} from a bench process, got {got!r}: {payload}")
    return payload  # type: ignore[no-any-return]


def _write_profile(profiler: cProfile.Profile, path: Path) -> None:
    profiler.dump_stats(path)
    stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime")
    print("hub process, top functions by own time:")
    stats.print_stats(15)


def print_table(r: dict[str, Any]) -> None:
    on = {True: "on", False: "off"}
    rows = [
        ("hub", f"{r['database']}, {r['bus']} bus, ingest batches of up to {r['max_batch']}, "
                f"incidents on, deflate {on[r['ws_deflate']]}"),
        ("load", f"{r['consoles']} consoles, rate {r['rate']:g}/s, {r['seconds']:g} s"),
        ("published", f"{r['published']} alerts, late by up to {r['publish_late_max_ms']} ms"),
        ("delivered", f"{r['delivered']} to every console: {r['alerts_per_s']} alerts/s"),
        ("missing", f"{r['missing']} receipts ({r['alerts_missing']} alerts), "
                    f"{r['dropped_consoles']} consoles dropped, {r['duplicates']} duplicates"),
        ("latency ms", f"p50 {r['p50_ms']}  p90 {r['p90_ms']}  p99 {r['p99_ms']}  "
                       f"max {r['max_ms']}"),
        ("cpu", f"hub {r['hub_cpu_pct']} % (its loop {r['hub_loop_cpu_pct']} %)  "
                f"consoles {r['consoles_cpu_pct']} %  else "
                f"{r['other_cpu_pct']} % (100 % = a core); machine {r['machine_busy_pct']} % busy"),
    ]  # fmt: skip
    for name, value in rows:
        print(f"{name:<11} {value}")


if __name__ == "__main__":
    main()
