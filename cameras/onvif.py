"""ONVIF devices: probe one (identity, clock offset, profiles with their stream and snapshot URIs,
PTZ presets), send it to a PTZ preset. The values and the pure parsing of answers are in
`cameras.onvif_model`; snapshot images come over plain HTTP (`cameras.snapshot`).

The only module importing `onvif` (onvif-zeep-async) and `zeep`. Nothing of theirs leaves it:
results are our dataclasses and every failure is an `OnvifError` whose message is safe to log
(no password; URLs redacted). Every address we connect to, and every URL the device hands back,
passes the network policy first (`cameras.netguard`): a device is an untrusted source of URLs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# onvif.client calls logging.basicConfig() at import; keep the root logger as the app left it.
_root_handlers = list(logging.getLogger().handlers)
_root_level = logging.getLogger().level

import aiohttp  # noqa: E402 (onvif-zeep-async's transport; its errors are ours to classify)
import httpx  # noqa: E402
import onvif  # noqa: E402
import zeep  # noqa: E402
import zeep.helpers  # noqa: E402
import zeep.transports  # noqa: E402
from onvif.client import ONVIFService  # noqa: E402
from onvif.definition import SERVICES  # noqa: E402
from onvif.exceptions import ONVIFError  # noqa: E402

from cameras.guarded_http import guarded_client  # noqa: E402
from cameras.netguard import (  # noqa: E402
    DEVICE_SCHEMES,
    STREAM_SCHEMES,
    DestinationRefused,
    NetworkPolicy,
    check_destination,
)
from cameras.onvif_model import (  # noqa: E402
    OnvifDevice,
    OnvifError,
    OnvifProfile,
    PtzPreset,
    Reason,
    capability_xaddrs,
    checked_destination,
    clock_offset_s,
    main_profile,
    profile_shape,
    strip_userinfo,
)

logging.getLogger().handlers[:] = _root_handlers
logging.getLogger().setLevel(_root_level)

logger = logging.getLogger(__name__)

_WSDL_DIR = Path(onvif.__file__).parent / "wsdl"  # shipped WSDLs: nothing fetched
# onvif-zeep-async parses leniently (strict=False, xml_huge_tree=True); answers come from an
# untrusted device, so no DTD, no entities, no external references and no huge trees.
_SAFE_SETTINGS = zeep.Settings(
    strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)
_STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


# ---- pure parts: device answers (zeep objects serialised to dicts) to our values ----


def service_xaddrs(services: Any) -> dict[str, str]:
    """GetServices answer -> {"media": xaddr, "ptz": xaddr, ...} for the services we know."""
    by_namespace = {str(s.get("Namespace")): str(s.get("XAddr")) for s in services or []}
    return {name: by_namespace[d["ns"]] for name, d in SERVICES.items() if d["ns"] in by_namespace}


def fault_codes(fault: zeep.exceptions.Fault) -> list[str]:
    """Local names of a SOAP fault's code and subcodes (`ter:NotAuthorized` -> NotAuthorized)."""
    codes = [str(fault.code or "")]
    codes += [getattr(code, "localname", None) or str(code) for code in fault.subcodes or []]
    return [code.rsplit(":", 1)[-1].rsplit("}", 1)[-1] for code in codes if code]


def classify(error: BaseException) -> Reason:
    """What kind of failure an exception from onvif-zeep-async, zeep or aiohttp is."""
    if isinstance(error, ONVIFError) and error.__cause__ is not None:
        error = error.__cause__  # onvif's safe_func wraps what it catches
    if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(error, DestinationRefused):
        return "refused_destination"
    if isinstance(error, zeep.exceptions.Fault):
        codes = fault_codes(error)
        if "NotAuthorized" in codes or "FailedAuthentication" in codes:
            return "bad_credentials"
        return "unsupported"
    if isinstance(error, zeep.exceptions.TransportError):
        if error.status_code in (401, 403):
            return "bad_credentials"
        return "unsupported" if error.status_code in (404, 405) else "invalid_response"
    if isinstance(error, aiohttp.ClientConnectionError | OSError | httpx.NetworkError):
        return "unreachable"
    return "invalid_response"


def _describe(reason: Reason, operation: str, error: BaseException, timeout_s: float) -> str:
    if reason == "timeout":
        return f"no answer to {operation} within {timeout_s:g} s"
    if reason == "unreachable":
        return f"cannot connect ({type(error).__name__})"
    if reason == "bad_credentials":
        return f"the device rejected the username or password ({operation})"
    if isinstance(error, zeep.exceptions.Fault):
        return f"{operation} refused by the device (fault {'/'.join(fault_codes(error))})"
    return f"unreadable answer to {operation} ({type(error).__name__})"


async def _allowed(url: str | None, schemes: frozenset[str], policy: NetworkPolicy) -> str | None:
    """The URL when the policy allows it, else None (logged: the message is already redacted)."""
    if not url:
        return None
    try:
        await check_destination(url, schemes, policy)
    except DestinationRefused as refused:
        logger.warning("ONVIF device returned a refused URL: %s", refused)
        return None
    return url


# ---- the shell: one connection to one device ----


class _Device:
    """One device's services over onvif-zeep-async; every request bounded by `timeout_s`."""

    def __init__(
        self, host: str, port: int, username: str, password: str, *, scheme: str,
        policy: NetworkPolicy, timeout_s: float,
    ) -> None:  # fmt: skip
        self.where = f"ONVIF device {host}:{port}"
        self.device_url = f"{scheme}://{_bracket(host)}:{port}/"
        self.xaddrs = {"devicemgmt": f"{self.device_url}onvif/device_service"}
        self.policy, self.timeout_s = policy, timeout_s
        self._credentials = (username, password)
        self._dt_diff: dt.timedelta | None = None
        self._services: dict[str, ONVIFService] = {}
        self.refused = False  # some URL the device returned was refused by the policy

    def __repr__(self) -> str:
        return f"_Device({self.where!r})"

    async def open(self) -> float:
        """Check the address, read the device clock (pre-auth), sign later requests by it."""
        await checked_destination(self.device_url, DEVICE_SCHEMES, self.policy)
        try:
            answer = await self.call("devicemgmt", "GetSystemDateAndTime", authless=True)
        except OnvifError as error:
            if error.reason not in ("bad_credentials", "unsupported"):
                raise
            # Some devices want even this signed (against ONVIF core 5.9.1).
            answer = await self.call("devicemgmt", "GetSystemDateAndTime")
        try:
            offset_s = clock_offset_s(answer, dt.datetime.now(dt.UTC))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise OnvifError(
                "invalid_response", f"{self.where}: unreadable GetSystemDateAndTime answer"
            ) from None
        self._dt_diff = dt.timedelta(seconds=offset_s)
        await self._drop("devicemgmt")  # its WS-Security token was made without the offset
        return offset_s

    async def discover_services(self) -> None:
        """XAddrs of media and PTZ: GetServices, or GetCapabilities on devices without it."""
        try:
            found = service_xaddrs(await self.call("devicemgmt", "GetServices",
                                                   {"IncludeCapability": False}))  # fmt: skip
        except OnvifError as error:
            if error.reason not in ("unsupported", "invalid_response"):
                raise
            found = {}
        if "media" not in found:
            answer = await self.call("devicemgmt", "GetCapabilities", {"Category": "All"})
            found = capability_xaddrs(answer)
        for name, xaddr in found.items():
            if name == "devicemgmt":
                continue  # we keep talking to the address we were given
            allowed = await _allowed(strip_userinfo(xaddr), DEVICE_SCHEMES, self.policy)
            if allowed:
                self.xaddrs.setdefault(name, allowed)
            else:
                self.xaddrs.pop(name, None)
                self.refused = True

    async def call(
        self, service: str, operation: str, params: Mapping[str, Any] | None = None,
        *, authless: bool = False,
    ) -> Any:  # fmt: skip
        """One request; the answer serialised to plain dicts and lists."""
        try:
            async with asyncio.timeout(self.timeout_s):
                client = await self._service(service)
                name = f"authless_{operation}" if authless else operation
                answer = await getattr(client, name)(dict(params or {}))
            return zeep.helpers.serialize_object(answer, dict)
        except OnvifError:
            raise
        except Exception as error:  # all of it becomes a classified OnvifError
            reason = classify(error)
            logger.debug("%s: %s failed: %s", self.where, operation, type(error).__name__)
            message = f"{self.where}: {_describe(reason, operation, error, self.timeout_s)}"
            raise OnvifError(reason, message) from None

    async def _service(self, name: str) -> ONVIFService:
        if name in self._services:
            return self._services[name]
        if name not in self.xaddrs:
            reason: Reason = "refused_destination" if self.refused else "unsupported"
            raise OnvifError(reason, f"{self.where}: no usable {name} service")
        definition = SERVICES[name]
        username, password = self._credentials
        client = ONVIFService(
            self.xaddrs[name], username, password, str(_WSDL_DIR / definition["wsdl"]),
            encrypt=True, no_cache=True, dt_diff=self._dt_diff,
            binding_name=f"{{{definition['ns']}}}{definition['binding']}",
        )  # fmt: skip
        # The library's own transport (aiohttp) follows redirects and reads answers whole: a
        # device could send us to a forbidden address or fill our memory. Cameras mostly have
        # self-signed certificates, hence no verification (as the library does).
        client.transport = zeep.transports.AsyncTransport(
            client=guarded_client(self.policy, self.timeout_s, verify=False)
        )
        self._services[name] = client
        await client.setup()
        client.zeep_client.settings = _SAFE_SETTINGS
        client.zeep_client_authless.settings = _SAFE_SETTINGS
        return client

    async def _drop(self, name: str) -> None:
        client = self._services.pop(name, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        for name in list(self._services):
            await self._drop(name)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def _profiles(device: _Device) -> tuple[OnvifProfile, ...]:
    profiles = []
    for raw in await device.call("media", "GetProfiles") or []:
        token = str(raw["token"])
        stream = await _optional_uri(
            device, "GetStreamUri", {"StreamSetup": _STREAM_SETUP, "ProfileToken": token}
        )
        snapshot = await _optional_uri(device, "GetSnapshotUri", {"ProfileToken": token})
        encoding, width, height = profile_shape(raw)
        profiles.append(OnvifProfile(
            token=token, name=str(raw.get("Name") or token), encoding=encoding, width=width,
            height=height, stream_uri=await _allowed(stream, STREAM_SCHEMES, device.policy),
            snapshot_uri=await _allowed(snapshot, DEVICE_SCHEMES, device.policy),
        ))  # fmt: skip
        device.refused |= bool(stream) and profiles[-1].stream_uri is None
    if not any(p.stream_uri for p in profiles):
        reason: Reason = "refused_destination" if device.refused else "unsupported"
        raise OnvifError(reason, f"{device.where}: no profile with a usable stream URI")
    return tuple(profiles)


async def _optional_uri(device: _Device, operation: str, params: Mapping[str, Any]) -> str | None:
    """A MediaUri's Uri, or None when the device does not offer it (a fault)."""
    try:
        answer = await device.call("media", operation, params)
    except OnvifError as error:
        if error.reason != "unsupported":
            raise
        return None
    uri = (answer or {}).get("Uri")
    return strip_userinfo(str(uri)) if uri else None


async def _presets(device: _Device, profile_token: str) -> tuple[PtzPreset, ...]:
    if "ptz" not in device.xaddrs:
        return ()
    try:
        answer = await device.call("ptz", "GetPresets", {"ProfileToken": profile_token})
    except OnvifError as error:
        if error.reason != "unsupported":
            raise
        return ()
    return tuple(PtzPreset(token=str(p["token"]), name=str(p.get("Name") or p["token"]))
                 for p in answer or [] if p.get("token"))  # fmt: skip


async def probe_device(
    host: str, port: int, username: str, password: str, *, policy: NetworkPolicy,
    timeout_s: float = 5.0, scheme: str = "http",
) -> OnvifDevice:  # fmt: skip
    """Identity, clock offset, profiles (stream and snapshot URIs checked), PTZ presets of the
    main profile. Raises OnvifError."""
    device = _Device(host, port, username, password, scheme=scheme, policy=policy,
                     timeout_s=timeout_s)  # fmt: skip
    try:
        offset_s = await device.open()
        info = await device.call("devicemgmt", "GetDeviceInformation")
        await device.discover_services()
        profiles = await _profiles(device)
        main = main_profile(profiles)
        presets = await _presets(device, main.token) if main else ()
    finally:
        await device.close()
    return OnvifDevice(
        manufacturer=str(info.get("Manufacturer") or ""), model=str(info.get("Model") or ""),
        firmware=str(info.get("FirmwareVersion") or ""), serial=str(info.get("SerialNumber") or ""),
        clock_offset_s=offset_s, profiles=profiles, ptz_presets=presets,
    )  # fmt: skip


async def goto_preset(
    host: str, port: int, username: str, password: str, profile_token: str, preset_token: str,
    *, policy: NetworkPolicy, timeout_s: float = 5.0, scheme: str = "http",
) -> None:  # fmt: skip
    """Send a PTZ camera to one of its presets. Raises OnvifError (`unsupported` without PTZ)."""
    device = _Device(host, port, username, password, scheme=scheme, policy=policy,
                     timeout_s=timeout_s)  # fmt: skip
    try:
        await device.open()
        await device.discover_services()
        await device.call(
            "ptz", "GotoPreset", {"ProfileToken": profile_token, "PresetToken": preset_token}
        )
    finally:
        await device.close()


