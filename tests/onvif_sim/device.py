"""An ONVIF device served on loopback: device, media and PTZ services in SOAP 1.2, and a
snapshot JPEG behind HTTP digest auth. Runs uvicorn in a thread on a socket bound up front, so
clients can connect as soon as `start()` returns (the kernel queues them until it serves).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import cv2
import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from tests.onvif_sim import soap
from tests.onvif_sim.soap import SimProfile

PUBLIC = frozenset({"GetSystemDateAndTime"})  # ONVIF core: answered before authentication
REALM = "onvif-sim"


@dataclass
class DeviceConfig:
    username: str = "admin"
    password: str = "correct horse"
    clock_skew_s: float = 0.0  # device clock − real clock
    delay_s: float = 0.0  # before every SOAP answer (a slow device)
    max_skew_s: float = 5.0  # how far WS-Security Created may be from the device clock
    stream_host: str = "127.0.0.1"  # where returned RTSP URIs point (unless a profile says)
    stream_port: int = 8554
    snapshot_base: str | None = None  # "host:port" of returned snapshot URIs (None: this device)
    xaddr_base: str | None = None  # "host:port" of returned service XAddrs (None: this device)
    tamper: Callable[[str, bytes], bytes] | None = None  # (operation, answer) -> what is sent
    profiles: tuple[SimProfile, ...] = (
        SimProfile("main", "mainStream", 1920, 1080),
        SimProfile("sub", "subStream", 640, 360),
    )
    presets: tuple[tuple[str, str], ...] = (("1", "Gate"), ("2", "Plaza"))
    ptz: bool = True
    get_services: bool = True  # False: an older device with GetCapabilities only


@dataclass
class Records:
    operations: list[str] = field(default_factory=list)
    auth_failures: list[str] = field(default_factory=list)
    gotos: list[tuple[str, str]] = field(default_factory=list)
    snapshots: int = 0


class OnvifSimulator:
    def __init__(self, config: DeviceConfig | None = None, host: str = "127.0.0.1") -> None:
        self.config = config or DeviceConfig()
        self.records = Records()
        self.host = host
        self.jpeg = _test_jpeg()
        self._socket = socket.create_server((host, 0))
        self.port = int(self._socket.getsockname()[1])
        app = Starlette(routes=[
            Route("/onvif/{service}", self._soap, methods=["POST"]),
            Route("/snapshot/{token}.jpg", self._snapshot, methods=["GET"]),
        ])  # fmt: skip
        server_config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                       access_log=False, timeout_graceful_shutdown=1)  # fmt: skip
        self._server = uvicorn.Server(server_config)
        self._thread = threading.Thread(target=self._server.run, args=([self._socket],),
                                        daemon=True)  # fmt: skip
        self._nonces: dict[str, None] = {}
        self._closing = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> OnvifSimulator:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def url(self, path: str, base: str | None = None) -> str:
        return f"http://{base or f'{self.host}:{self.port}'}{path}"

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.clock_skew_s)

    async def _soap(self, request: HttpRequest) -> Response:
        parsed = soap.parse_request(await request.body())
        self.records.operations.append(parsed.operation)
        if self.config.delay_s:
            self._loop = asyncio.get_running_loop()
            with contextlib.suppress(TimeoutError):  # a slow answer, cut short by __exit__
                await asyncio.wait_for(self._closing.wait(), self.config.delay_s)
        if parsed.operation not in PUBLIC:
            why = soap.check_username_token(parsed.header, self.config.username,
                                            self.config.password, self.now(),
                                            self.config.max_skew_s)  # fmt: skip
            if why is not None:
                self.records.auth_failures.append(why)
                return _xml(soap.fault("ter:NotAuthorized", "Sender not authorized"), 400)
        body = self._answer(request.path_params["service"], parsed)
        if body is None:
            return _xml(soap.fault("ter:ActionNotSupported", "Optional action not implemented",
                                   code="env:Receiver"), 400)  # fmt: skip
        payload = soap.envelope(body)
        if self.config.tamper is not None:
            payload = self.config.tamper(parsed.operation, payload)
        return _xml(payload, 200)

    def _answer(self, service: str, request: soap.Request) -> str | None:
        config, operation = self.config, request.operation
        xaddrs = {
            soap.NS["tds"]: self.url("/onvif/device_service", config.xaddr_base),
            soap.NS["trt"]: self.url("/onvif/media_service", config.xaddr_base),
        }
        if config.ptz:
            xaddrs[soap.NS["tptz"]] = self.url("/onvif/ptz_service", config.xaddr_base)
        token = soap.text_of(request.body, "ProfileToken") or ""
        profile = next((p for p in config.profiles if p.token == token), None)
        stream_host = (profile and profile.stream_host) or config.stream_host
        answers = {
            ("device_service", "GetSystemDateAndTime"): lambda: soap.system_date_and_time(
                self.now()
            ),
            ("device_service", "GetDeviceInformation"): lambda: soap.device_information(
                "Xueliang Sim", "SIM-1080", "1.2.3", "SN0001"
            ),
            ("device_service", "GetCapabilities"): lambda: soap.capabilities(
                xaddrs[soap.NS["tds"]], xaddrs[soap.NS["trt"]], xaddrs.get(soap.NS["tptz"])
            ),
            ("media_service", "GetProfiles"): lambda: soap.profiles(config.profiles, config.ptz),
            ("media_service", "GetStreamUri"): lambda: soap.media_uri(
                "GetStreamUri", f"rtsp://{stream_host}:{config.stream_port}/{token}"
            ),
            ("media_service", "GetSnapshotUri"): lambda: soap.media_uri(
                "GetSnapshotUri", self.url(f"/snapshot/{token}.jpg", config.snapshot_base)
            ),
        }
        if config.get_services:
            answers[("device_service", "GetServices")] = lambda: soap.services(xaddrs)
        if config.ptz:
            answers[("ptz_service", "GetPresets")] = lambda: soap.presets(config.presets)
            answers[("ptz_service", "GotoPreset")] = lambda: self._goto(request)
        answer = answers.get((service, operation))
        return None if answer is None else answer()

    def _goto(self, request: soap.Request) -> str:
        profile = soap.text_of(request.body, "ProfileToken") or ""
        preset = soap.text_of(request.body, "PresetToken") or ""
        self.records.gotos.append((profile, preset))
        return soap.GOTO_PRESET

    async def _snapshot(self, request: HttpRequest) -> Response:
        header = request.headers.get("authorization", "")
        if not header.startswith("Digest ") or not self._digest_ok(header[7:], request):
            nonce = secrets.token_hex(16)
            self._nonces[nonce] = None
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'
            return Response(status_code=401, headers={"WWW-Authenticate": challenge})
        self.records.snapshots += 1
        return Response(self.jpeg, media_type="image/jpeg")

    def _digest_ok(self, header: str, request: HttpRequest) -> bool:
        """RFC 7616 MD5 with qop=auth, against a nonce this device issued."""
        fields = _digest_fields(header)
        if (
            fields.get("nonce") not in self._nonces
            or fields.get("username") != self.config.username
        ):
            return False
        ha1 = _md5(f"{self.config.username}:{REALM}:{self.config.password}")
        ha2 = _md5(f"{request.method}:{fields.get('uri', '')}")
        parts = [
            fields["nonce"],
            fields.get("nc", ""),
            fields.get("cnonce", ""),
            fields.get("qop", ""),
        ]
        expected = _md5(":".join([ha1, *parts, ha2]))
        return secrets.compare_digest(expected, fields.get("response", ""))


def _digest_fields(header: str) -> dict[str, str]:
    fields = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields[key.strip()] = value.strip().strip('"')
    return fields


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # HTTP digest is MD5


def _xml(payload: bytes, status: int) -> Response:
    return Response(payload, status_code=status, media_type=soap.CONTENT_TYPE)


def _test_jpeg() -> bytes:
    image = np.zeros((36, 64, 3), dtype=np.uint8)
    image[:, 32:] = (0, 128, 255)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return bytes(encoded.tobytes())
