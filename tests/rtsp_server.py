"""Fixture side of `tests/rtsp_serve.py`: start, kill and restart GStreamer's RTSP server; and
the faulty stand-ins of the fault tests (a silent port, a garbage server, a stalling proxy)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.redis_server import free_port

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's, with PyGObject and GstRtspServer
SERVE = Path(__file__).with_name("rtsp_serve.py")


class RtspServer:
    """With `user`, `password` and `secrets_dir` (pytest's tmp dir) the mount asks for them
    (`auth_method`: "digest" or "basic"); the password goes to the server in a file, never in
    its arguments, and is not kept here."""

    def __init__(
        self,
        clip: Path,
        *,
        user: str | None = None,
        password: str | None = None,
        secrets_dir: Path | None = None,
        auth_method: str = "digest",
    ) -> None:
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
        self._auth_arguments = _auth_arguments(user, password, secrets_dir, auth_method)

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SYSTEM_PYTHON), str(SERVE), "--port", str(self.port), "--clip", str(self.clip),
             *self._auth_arguments],
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


def _auth_arguments(
    user: str | None, password: str | None, secrets_dir: Path | None, method: str
) -> list[str]:
    if user is None and password is None:
        return []
    if user is None or password is None or secrets_dir is None:
        raise ValueError("an RTSP server with credentials needs user, password and secrets_dir")
    handle, password_file = tempfile.mkstemp(prefix="rtsp-password-", dir=secrets_dir)  # 0600
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(password)
    return ["--user", user, "--password-file", password_file, "--auth-method", method]


# --- faulty stand-ins and helpers for the fault tests ---

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FIGURES = ARTIFACTS / "rtsp-faults.json"


def record_figures(**figures: float) -> None:
    """Merge measured figures (seconds) into `test-artifacts/rtsp-faults.json`."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        known = json.loads(FIGURES.read_text())
    except (FileNotFoundError, ValueError):
        known = {}
    known.update({name: round(value, 2) for name, value in figures.items()})
    FIGURES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")


async def wait_for(condition: Callable[[], object], timeout_s: float) -> float:
    """Seconds until `condition()` held (polled every 0.05 s); fails after `timeout_s`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class SilentListener:
    """A TCP port that accepts connections and never says a word (a hung camera)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, name="silent", daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed
            while True:
                connection, _ = self._socket.accept()
                self._held.append(connection)
                self.accepted += 1

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


class GarbageServer(SilentListener):
    """Answers every connection with random bytes, then hangs up (a corrupt stream)."""

    def _accept(self) -> None:
        rng = random.Random(7)
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._socket.accept()
                self.accepted += 1
                with connection, contextlib.suppress(OSError):
                    connection.recv(4096)
                    connection.sendall(rng.randbytes(16 * 1024))


class StallingProxy:
    """A TCP proxy on the event loop; `stall()` stops forwarding on the connections open so far
    (they stay open, like a camera whose encoder hung); later connections flow again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.connections = 0
        self._generation = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stall(self) -> None:
        self._generation += 1

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        generation = self._generation
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink, generation))
            self._tasks.add(task)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, generation: int
    ) -> None:
        try:
            while data := await source.read(65536):
                if self._generation != generation:
                    await asyncio.Event().wait()  # stalled: hold the connection, say nothing
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()
