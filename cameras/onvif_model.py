"""ONVIF values and errors: what a probe finds, and the pure parsing of device answers (zeep
objects serialised to dicts) into those values. No ONVIF library here: `cameras.onvif` is the
adapter, and `cameras.snapshot` fetches snapshot images over plain HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from cameras.netguard import DestinationRefused, NetworkPolicy, check_destination

Reason = Literal[
    "timeout", "unreachable", "bad_credentials", "unsupported", "invalid_response",
    "refused_destination",
]  # fmt: skip
TRANSIENT: frozenset[Reason] = frozenset({"timeout", "unreachable"})

class OnvifError(Exception):
    """An ONVIF operation failed. `str()` is safe to show and log: it never holds the password.

    `transient` (timeout, unreachable): retry with backoff. Otherwise stop and report."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.transient = reason in TRANSIENT


@dataclass(frozen=True)
class OnvifProfile:
    token: str
    name: str
    encoding: str | None
    width: int | None
    height: int | None
    stream_uri: str | None
    snapshot_uri: str | None

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass(frozen=True)
class PtzPreset:
    token: str
    name: str


@dataclass(frozen=True)
class OnvifDevice:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    clock_offset_s: float  # device UTC − our UTC
    profiles: tuple[OnvifProfile, ...]
    ptz_presets: tuple[PtzPreset, ...]  # empty when the device has no PTZ service

    @property
    def main_stream_uri(self) -> str | None:
        main = main_profile(self.profiles)
        return main.stream_uri if main else None

    @property
    def sub_stream_uri(self) -> str | None:
        """The smallest other profile with a stream; None when there is only one."""
        main = main_profile(self.profiles)
        others = [p for p in self.profiles if p.stream_uri and p is not main]
        return min(others, key=lambda p: p.pixels).stream_uri if others else None


def main_profile(profiles: tuple[OnvifProfile, ...]) -> OnvifProfile | None:
    streams = [p for p in profiles if p.stream_uri]
    # max() keeps the first of equals: the first profile with the largest resolution.
    return max(streams, key=lambda p: p.pixels) if streams else None


def clock_offset_s(system_date: Mapping[str, Any], now_utc: dt.datetime) -> float:
    """Device UTC − `now_utc` from a GetSystemDateAndTime answer; 0 when it gives no UTC time."""
    utc = system_date.get("UTCDateTime")
    if not utc:
        return 0.0
    date, time = utc["Date"], utc["Time"]
    device = dt.datetime(
        date["Year"], date["Month"], date["Day"], time["Hour"], time["Minute"], time["Second"],
        tzinfo=dt.UTC,
    )  # fmt: skip
    return (device - now_utc).total_seconds()


def capability_xaddrs(capabilities: Mapping[str, Any]) -> dict[str, str]:
    """GetCapabilities answer (older devices) -> {"media": xaddr, "ptz": xaddr}."""
    found = {name: (capabilities.get(key) or {}).get("XAddr") for name, key in
             (("media", "Media"), ("ptz", "PTZ"))}  # fmt: skip
    return {name: str(xaddr) for name, xaddr in found.items() if xaddr}


def profile_shape(raw: Mapping[str, Any]) -> tuple[str | None, int | None, int | None]:
    """(encoding, width, height) of a GetProfiles entry; None where the device says nothing."""
    encoder = raw.get("VideoEncoderConfiguration") or {}
    resolution = encoder.get("Resolution") or {}
    encoding = encoder.get("Encoding")
    return (str(encoding) if encoding else None, resolution.get("Width"), resolution.get("Height"))


def strip_userinfo(url: str) -> str:
    """Devices often embed credentials in the URLs they return; we keep ours apart."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


async def checked_destination(url: str, schemes: frozenset[str], policy: NetworkPolicy) -> None:
    try:
        await check_destination(url, schemes, policy)
    except DestinationRefused as refused:
        raise OnvifError("refused_destination", str(refused)) from None
