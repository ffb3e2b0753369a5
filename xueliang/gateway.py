"""The hub's `CameraGateway`, made of the camera side's parts: the SSRF guard, the ONVIF client
and the decoder. It lives in the composition root because the hub must not import `cameras/`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import urlsplit

import cv2

from cameras.discovery import MULTICAST, DiscoveredDevice, discover
from cameras.netguard import (
    DEVICE_SCHEMES,
    STREAM_SCHEMES,
    DestinationRefused,
    NetworkPolicy,
    check_destination,
)
from cameras.onvif import goto_preset, probe_device
from cameras.onvif_model import OnvifDevice, OnvifError
from cameras.pyav import VideoError, VideoReader, open_video
from cameras.snapshot import fetch_snapshot
from cameras.urls import with_credentials
from hub.camera_models import (
    DeviceInfo,
    Discovered,
    OnvifEndpoint,
    ProbeReport,
    PtzPreset,
    StreamProfile,
)
from hub.gateway import CameraAccessError, Credentials, LiveStream, Reason

SNAPSHOT_QUALITY = 85


def network_policy(setting: str | None) -> NetworkPolicy:
    """`XUELIANG_CAMERA_NETWORKS` ("10.0.0.0/8,127.0.0.1/32"), or the private ranges."""
    if setting is None:
        return NetworkPolicy.default()
    return NetworkPolicy.parse(part for part in setting.split(",") if part.strip())


class CameraAccess:
    def __init__(
        self, policy: NetworkPolicy, timeout_s: float = 5.0,
        discovery_targets: Sequence[tuple[str, int]] = (MULTICAST,),
    ) -> None:  # fmt: skip
        self.policy = policy
        self.timeout_s = timeout_s
        self.discovery_targets = tuple(discovery_targets)
        self._discovering = asyncio.Lock()  # one probe at a time: answers are per message id

    async def discover(self, timeout_s: float) -> list[Discovered]:
        async with self._discovering:
            found = await discover(timeout_s, targets=self.discovery_targets)
        return [self._discovered(device) for device in found]

    async def goto_preset(
        self, endpoint: OnvifEndpoint, credentials: Credentials, preset_token: str
    ) -> None:
        if endpoint.profile is None:
            raise CameraAccessError("unsupported", "the camera has no ONVIF profile recorded")
        try:
            await goto_preset(
                endpoint.host, endpoint.port, credentials.username or "",
                credentials.password or "", endpoint.profile, preset_token, policy=self.policy,
                timeout_s=self.timeout_s, scheme=endpoint.scheme,
            )  # fmt: skip
        except OnvifError as error:
            raise CameraAccessError(error.reason, str(error)) from None

    def _discovered(self, device: DiscoveredDevice) -> Discovered:
        """The first XAddr's host and port (what a probe needs), and whether it is allowed."""
        host = port = None
        for xaddr in device.xaddrs:
            try:
                parts = urlsplit(xaddr)
                host, port = parts.hostname, parts.port or 80
            except ValueError:
                continue
            if host:
                break
        return Discovered(
            endpoint_reference=device.endpoint_reference, xaddrs=list(device.xaddrs),
            scopes=list(device.scopes), host=host, port=port,
            allowed=host is not None and self.policy.allows(host),
        )  # fmt: skip

    async def check_stream_url(self, url: str) -> None:
        await self._checked(url, STREAM_SCHEMES)

    async def probe_onvif(self, endpoint: OnvifEndpoint, credentials: Credentials) -> ProbeReport:
        try:
            device = await probe_device(
                endpoint.host, endpoint.port, credentials.username or "",
                credentials.password or "", policy=self.policy, timeout_s=self.timeout_s,
                scheme=endpoint.scheme,
            )  # fmt: skip
        except OnvifError as error:
            raise CameraAccessError(error.reason, str(error)) from None
        return _report(device)

    async def snapshot(
        self, stream_url: str, snapshot_url: str | None, credentials: Credentials
    ) -> bytes:
        if snapshot_url is not None:
            await self._checked(snapshot_url, DEVICE_SCHEMES)
            try:
                return await fetch_snapshot(
                    snapshot_url, credentials.username or "", credentials.password or "",
                    policy=self.policy, timeout_s=self.timeout_s,
                )  # fmt: skip
            except OnvifError as error:
                if not error.transient:
                    raise CameraAccessError(error.reason, str(error)) from None
                # a device whose snapshot service is down may still stream: decode a frame
        await self._checked(stream_url, STREAM_SCHEMES)
        url = with_credentials(stream_url, credentials.username, credentials.password)
        return await asyncio.to_thread(self._grab_jpeg, url)

    def _grab_jpeg(self, url: str) -> bytes:
        """The first decodable keyframe, as JPEG; bounded by the open and read deadlines."""
        try:
            reader = open_video(
                url, keyframes_only=True, open_timeout_s=self.timeout_s,
                read_timeout_s=self.timeout_s,
            )  # fmt: skip
        except VideoError as error:  # already redacted
            raise CameraAccessError(_access_reason(error), str(error)) from None
        try:
            frame = next(reader.frames(), None)
        except VideoError as error:
            raise CameraAccessError("no_frame", str(error)) from None
        finally:
            reader.close()
        if frame is None:
            raise CameraAccessError("no_frame", "the stream ended before its first frame")
        quality = [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY]
        ok, encoded = cv2.imencode(".jpg", frame.image, quality)
        if not ok:
            raise CameraAccessError("no_frame", "the frame could not be encoded as JPEG")
        return bytes(encoded.tobytes())

    async def open_live(self, stream_url: str, credentials: Credentials) -> LiveStream:
        await self._checked(stream_url, STREAM_SCHEMES)
        url = with_credentials(stream_url, credentials.username, credentials.password)
        return LiveReader(await asyncio.to_thread(self._open_live, url))

    def _open_live(self, url: str) -> VideoReader:
        try:
            return open_video(url, open_timeout_s=self.timeout_s, read_timeout_s=self.timeout_s)
        except VideoError as error:  # already redacted
            raise CameraAccessError(_access_reason(error), str(error)) from None

    async def _checked(self, url: str, schemes: frozenset[str]) -> None:
        try:
            await check_destination(url, schemes, self.policy)
        except DestinationRefused as error:
            raise CameraAccessError("refused_destination", str(error)) from None


class LiveReader:
    """The live view's upstream: every frame, in PyAV's own form (aiortc encodes it as is)."""

    def __init__(self, reader: VideoReader) -> None:
        self._reader = reader

    def frames(self, stop: Callable[[], bool]) -> Iterator[object]:
        try:
            for frame, _info in self._reader.native_frames(stop):
                yield frame
        except VideoError as error:  # already redacted
            raise CameraAccessError(_access_reason(error), str(error)) from None

    def close(self) -> None:
        self._reader.close()


def _access_reason(error: VideoError) -> Reason:
    """A decoder error in the hub's terms: what the integrator must fix, or worth a retry."""
    if error.reason in ("bad_credentials", "forbidden"):
        return "bad_credentials"
    if error.reason == "not_found":
        return "not_found"
    if error.permanent:
        return "unsupported"
    return "timeout" if error.reason == "timeout" else "unreachable"


def _report(device: OnvifDevice) -> ProbeReport:
    profiles = [
        StreamProfile(
            token=profile.token, name=profile.name, encoding=profile.encoding,
            width=profile.width, height=profile.height, stream_url=profile.stream_uri,
        )
        for profile in device.profiles
    ]
    snapshot = next((p.snapshot_uri for p in device.profiles if p.snapshot_uri), None)
    return ProbeReport(
        device=DeviceInfo(
            manufacturer=device.manufacturer, model=device.model, firmware=device.firmware,
            serial=device.serial, clock_offset_s=device.clock_offset_s,
        ),
        profiles=profiles,
        snapshot_url=snapshot,
        ptz_presets=[PtzPreset(token=p.token, name=p.name) for p in device.ptz_presets],
    )
