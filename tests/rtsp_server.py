"""Fixture side of `tests/rtsp_serve.py`: start, kill and restart GStreamer's RTSP server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.redis_server import free_port

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's, with PyGObject and GstRtspServer
SERVE = Path(__file__).with_name("rtsp_serve.py")


class RtspServer:
    def __init__(self, clip: Path) -> None:
        probe = subprocess.run(
            [str(SYSTEM_PYTHON), "-c",
             "import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer"],
            capture_output=True, check=False,
        )  # fmt: skip
        if not SYSTEM_PYTHON.exists() or probe.returncode != 0:
            pytest.skip("GStreamer's RTSP server is not installed (scripts/setup.sh installs it)")
        self.clip = clip
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SYSTEM_PYTHON), str(SERVE), "--port", str(self.port), "--clip", str(self.clip)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "READY":
            self.kill()
            raise RuntimeError("the RTSP server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
