"""Session-wide: every log record of the run is scanned for the canary password (tests/canary.py).

A record that carries it, raw or encoded, in its message or its exception text fails the run at
the end with the logger's name, whatever test produced it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.canary import leaks
from tests.rtsp_server import RtspServer

FOOTAGE_CLIP = Path(__file__).with_name("data") / "vtest-20s.mp4"


class CanaryWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.found: list[str] = []
        self.scanned = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.scanned += 1
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logger's problem, not a leak
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r} {record.exc_info[1]}"
        found = leaks(text)
        if found:
            self.found.append(f"{record.name}: {found}")


WATCH = CanaryWatch()


@pytest.fixture(scope="session", autouse=True)
def _scan_every_log_record() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.addHandler(WATCH)
    root.setLevel(logging.DEBUG)  # third-party debug lines (httpx, zeep) are where URLs leak
    for noisy in ("asyncio", "aiosqlite", "sqlalchemy", "websockets", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    yield
    root.removeHandler(WATCH)
    root.setLevel(level)


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    """GStreamer's RTSP server serving the 20 s test clip; the test may kill and restart it."""
    server = RtspServer(FOOTAGE_CLIP)
    server.start()
    yield server
    server.kill()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if WATCH.found:
        print(f"\nCANARY PASSWORD IN {len(WATCH.found)} LOG RECORDS: {WATCH.found[:5]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
