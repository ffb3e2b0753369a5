"""The ONVIF adapter against the loopback device simulator (real SOAP from the ONVIF WSDLs),
plus tables for its pure parts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
import onvif
import pytest
import zeep.exceptions
from lxml import etree

from cameras.netguard import NetworkPolicy
from cameras.onvif import classify, goto_preset, probe_device, service_xaddrs
from cameras.onvif_model import (
    OnvifDevice,
    OnvifError,
    OnvifProfile,
    capability_xaddrs,
    clock_offset_s,
    profile_shape,
    strip_userinfo,
)
from cameras.snapshot import fetch_snapshot
from tests.onvif_sim import DeviceConfig, OnvifSimulator, SimProfile, soap
from tests.onvif_sim.fixtures import tcp_sink
from tests.redis_server import free_port

CANARY = "Cnry-7f3a:@/%#?é"
LOOPBACK = NetworkPolicy.parse(["127.0.0.1/32"])
NOISY_LOGGERS = ("", "zeep", "zeep.client", "zeep.transports", "onvif", "httpx", "httpcore",
                 "aiohttp", "cameras", "uvicorn")  # fmt: skip


@contextmanager
def device(**changes: Any) -> Iterator[OnvifSimulator]:
    config = DeviceConfig(**{"password": CANARY, **changes})
    with OnvifSimulator(config) as sim:
        yield sim


async def probe(sim: OnvifSimulator, password: str = CANARY, **options: Any) -> OnvifDevice:
    options.setdefault("policy", LOOPBACK)
    return await probe_device("127.0.0.1", sim.port, "admin", password, **options)


# ---- against the simulator ----


async def test_probe_reads_identity_profiles_uris_and_presets() -> None:
    with device() as sim:
        found = await probe(sim)
    assert (found.manufacturer, found.model, found.firmware, found.serial) == (
        "Xueliang Sim", "SIM-1080", "1.2.3", "SN0001",
    )  # fmt: skip
    assert abs(found.clock_offset_s) < 2
    assert [(p.token, p.encoding, p.width, p.height) for p in found.profiles] == [
        ("main", "H264", 1920, 1080), ("sub", "H264", 640, 360),
    ]  # fmt: skip
    assert found.main_stream_uri == "rtsp://127.0.0.1:8554/main"
    assert found.sub_stream_uri == "rtsp://127.0.0.1:8554/sub"
    assert found.profiles[0].snapshot_uri == sim.url("/snapshot/main.jpg")
    assert [(p.token, p.name) for p in found.ptz_presets] == [("1", "Gate"), ("2", "Plaza")]
    assert sim.records.auth_failures == []
    assert sim.records.operations[0] == "GetSystemDateAndTime"


async def test_device_two_hours_off_still_authenticates() -> None:
    with device(clock_skew_s=7200.0) as sim:
        found = await probe(sim)
    assert found.clock_offset_s == pytest.approx(7200, abs=2)
    assert sim.records.auth_failures == []
    assert found.main_stream_uri is not None


async def test_slow_device_gives_up_within_the_timeout_and_is_transient() -> None:
    with device(delay_s=5.0) as sim:
        started = time.monotonic()
        with pytest.raises(OnvifError) as caught:
            await probe(sim, timeout_s=1.0)
        elapsed_s = time.monotonic() - started
    assert caught.value.reason == "timeout" and caught.value.transient
    assert elapsed_s < 2.0


async def test_wrong_password_is_bad_credentials_and_permanent() -> None:
    with device(password="something else") as sim, pytest.raises(OnvifError) as caught:
        await probe(sim)
    assert caught.value.reason == "bad_credentials" and not caught.value.transient
    assert sim.records.auth_failures == ["wrong digest"]  # a digest was sent, not the text


async def test_nothing_listening_is_unreachable_and_transient() -> None:
    with pytest.raises(OnvifError) as caught:
        await probe_device("127.0.0.1", free_port(), "admin", CANARY, policy=LOOPBACK)
    assert caught.value.reason == "unreachable" and caught.value.transient


async def test_device_outside_the_allowed_networks_is_never_contacted() -> None:
    with device() as sim, pytest.raises(OnvifError) as caught:
        await probe(sim, policy=NetworkPolicy.parse(["10.0.0.0/8"]))
    assert caught.value.reason == "refused_destination" and not caught.value.transient
    assert sim.records.operations == []


async def test_stream_uri_outside_the_policy_is_refused() -> None:
    with device(stream_host="127.0.0.2") as sim, pytest.raises(OnvifError) as caught:
        await probe(sim)
    assert caught.value.reason == "refused_destination" and not caught.value.transient


async def test_one_refused_stream_uri_drops_only_that_profile() -> None:
    profiles = (SimProfile("main", "main", 1920, 1080, stream_host="127.0.0.2"),
                SimProfile("sub", "sub", 640, 360))  # fmt: skip
    with device(profiles=profiles) as sim:
        found = await probe(sim)
    assert [p.stream_uri for p in found.profiles] == [None, "rtsp://127.0.0.1:8554/sub"]
    assert found.main_stream_uri == "rtsp://127.0.0.1:8554/sub"
    assert found.sub_stream_uri is None


@pytest.mark.parametrize("where", ["stream_and_snapshot", "service_xaddrs"])
async def test_urls_into_a_forbidden_host_are_never_followed(where: str) -> None:
    async with tcp_sink("127.0.0.2") as sink:
        base = f"{sink.host}:{sink.port}"
        changes: dict[str, Any] = (
            {"stream_host": sink.host, "stream_port": sink.port, "snapshot_base": base}
            if where == "stream_and_snapshot"
            else {"xaddr_base": base}
        )
        with device(**changes) as sim, pytest.raises(OnvifError) as caught:
            await probe(sim)
        with pytest.raises(OnvifError) as snapshot_refused:
            await fetch_snapshot(f"http://{base}/snapshot/main.jpg", "admin", CANARY,
                                 policy=LOOPBACK)  # fmt: skip
        assert sink.connections == 0
    assert caught.value.reason == "refused_destination"
    assert snapshot_refused.value.reason == "refused_destination"


async def test_device_without_get_services_is_read_through_get_capabilities() -> None:
    with device(get_services=False) as sim:
        found = await probe(sim)
    assert "GetCapabilities" in sim.records.operations
    assert found.main_stream_uri == "rtsp://127.0.0.1:8554/main"
    assert len(found.ptz_presets) == 2


async def test_device_without_ptz_has_no_presets_and_refuses_goto() -> None:
    with device(ptz=False) as sim:
        found = await probe(sim)
        with pytest.raises(OnvifError) as caught:
            await goto_preset("127.0.0.1", sim.port, "admin", CANARY, "main", "1",
                              policy=LOOPBACK)  # fmt: skip
    assert found.ptz_presets == ()
    assert caught.value.reason == "unsupported" and not caught.value.transient


async def test_goto_preset_moves_the_camera() -> None:
    with device(clock_skew_s=-3600.0) as sim:
        await goto_preset("127.0.0.1", sim.port, "admin", CANARY, "main", "2", policy=LOOPBACK)
    assert sim.records.gotos == [("main", "2")]


async def test_snapshot_is_fetched_with_digest_auth() -> None:
    with device() as sim:
        found = await probe(sim)
        uri = found.profiles[0].snapshot_uri
        assert uri is not None
        image = await fetch_snapshot(uri, "admin", CANARY, policy=LOOPBACK)
        with pytest.raises(OnvifError) as wrong:
            await fetch_snapshot(uri, "admin", "not it", policy=LOOPBACK)
        with pytest.raises(OnvifError) as too_big:
            await fetch_snapshot(uri, "admin", CANARY, policy=LOOPBACK, max_bytes=100)
    assert image == sim.jpeg and image.startswith(b"\xff\xd8")
    assert sim.records.snapshots == 2  # the third was cut off after 100 bytes
    assert wrong.value.reason == "bad_credentials"
    assert too_big.value.reason == "invalid_response"


async def test_snapshot_from_nothing_listening_is_unreachable() -> None:
    uri = f"http://127.0.0.1:{free_port()}/snapshot.jpg"
    with pytest.raises(OnvifError) as caught:
        await fetch_snapshot(uri, "admin", CANARY, policy=LOOPBACK)
    assert caught.value.reason == "unreachable" and caught.value.transient


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
)


EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.2:9/evil.dtd">'


def after_declaration(payload: bytes) -> bytes:
    return payload.split(b"?>", 1)[1]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda payload: b"this is not XML",
        lambda payload: EXTERNAL_DTD + after_declaration(payload),
        lambda payload: BILLION_LAUGHS + after_declaration(payload).replace(b">1920<", b">&lol2;<"),
    ],
    ids=["garbage", "external-dtd", "entities"],
)
async def test_hostile_answers_are_invalid_responses(tamper: Any) -> None:
    def on_profiles(operation: str, payload: bytes) -> bytes:
        return tamper(payload) if operation == "GetProfiles" else payload

    with device(tamper=on_profiles) as sim, pytest.raises(OnvifError) as caught:
        await probe(sim)
    assert caught.value.reason == "invalid_response" and not caught.value.transient


async def test_canary_password_appears_in_no_error_repr_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in NOISY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []
    with device() as sim:
        found = await probe(sim)
        texts += [repr(found), str(found)]
        assert found.profiles[0].snapshot_uri is not None
        texts.append(repr(await fetch_snapshot(found.profiles[0].snapshot_uri, "admin", CANARY,
                                               policy=LOOPBACK)))  # fmt: skip
        await goto_preset("127.0.0.1", sim.port, "admin", CANARY, "main", "1", policy=LOOPBACK)
    failures = [
        probe_device("127.0.0.1", free_port(), "admin", CANARY, policy=LOOPBACK),
        fetch_snapshot(f"http://127.0.0.1:{free_port()}/x.jpg", "admin", CANARY, policy=LOOPBACK),
        fetch_snapshot("http://10.1.1.1/x.jpg", "admin", CANARY, policy=LOOPBACK),
    ]
    with device(password="other") as sim:
        failures.append(probe(sim))
        failures.append(fetch_snapshot(sim.url("/snapshot/main.jpg"), "admin", CANARY,
                                       policy=LOOPBACK))  # fmt: skip
        for attempt in failures:
            with pytest.raises(OnvifError) as caught:
                await attempt
            texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
            texts += [repr(caught.value.__context__), repr(caught.value.args)]
    with device(delay_s=3.0) as sim:
        with pytest.raises(OnvifError) as slow:
            await probe(sim, timeout_s=0.5)
        texts += [str(slow.value), repr(slow.value)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    assert len(caplog.records) > 5  # the loggers were really listening
    for secret in (CANARY, quote(CANARY, safe=""), quote(CANARY)):
        assert not [text for text in texts if secret in text]


# ---- pure parts ----


def test_clock_offset_is_device_minus_local() -> None:
    answer = {"UTCDateTime": {"Date": {"Year": 2024, "Month": 5, "Day": 6},
                              "Time": {"Hour": 9, "Minute": 0, "Second": 30}}}  # fmt: skip
    now = dt.datetime(2024, 5, 6, 7, 0, 0, tzinfo=dt.UTC)
    assert clock_offset_s(answer, now) == 7230.0
    assert clock_offset_s({"UTCDateTime": None}, now) == 0.0


def test_service_addresses_from_services_and_capabilities() -> None:
    services = [
        {"Namespace": "http://www.onvif.org/ver10/media/wsdl", "XAddr": "http://c/media"},
        {"Namespace": "http://www.onvif.org/ver20/ptz/wsdl", "XAddr": "http://c/ptz"},
        {"Namespace": "http://example.com/vendor", "XAddr": "http://c/vendor"},
    ]
    assert service_xaddrs(services) == {"media": "http://c/media", "ptz": "http://c/ptz"}
    assert service_xaddrs(None) == {}
    capabilities = {"Media": {"XAddr": "http://c/media"}, "PTZ": None, "Device": {"XAddr": "x"}}
    assert capability_xaddrs(capabilities) == {"media": "http://c/media"}


@pytest.mark.parametrize(
    ("raw", "shape"),
    [
        ({"VideoEncoderConfiguration": {"Encoding": "H264",
                                        "Resolution": {"Width": 1920, "Height": 1080}}},
         ("H264", 1920, 1080)),
        ({"VideoEncoderConfiguration": None}, (None, None, None)),
        ({}, (None, None, None)),
    ],
)  # fmt: skip
def test_profile_shape(raw: dict[str, Any], shape: tuple[Any, ...]) -> None:
    assert profile_shape(raw) == shape


@pytest.mark.parametrize(
    ("url", "stripped"),
    [
        ("rtsp://admin:pw@10.0.0.5:554/live", "rtsp://10.0.0.5:554/live"),
        ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
        ("http://u:p@w@[fd00::1]:80/snap?x=1", "http://[fd00::1]:80/snap?x=1"),
    ],
)
def test_credentials_returned_inside_urls_are_stripped(url: str, stripped: str) -> None:
    assert strip_userinfo(url) == stripped


def fault(subcode: str) -> zeep.exceptions.Fault:
    return zeep.exceptions.Fault(
        "no", code="env:Sender", subcodes=[etree.QName(soap.NS["ter"], subcode)]
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TimeoutError(), "timeout"),
        (aiohttp.ServerTimeoutError(), "timeout"),
        (ConnectionRefusedError(), "unreachable"),
        (aiohttp.ServerDisconnectedError(), "unreachable"),
        (fault("NotAuthorized"), "bad_credentials"),
        (fault("ActionNotSupported"), "unsupported"),
        (zeep.exceptions.TransportError("x", status_code=401), "bad_credentials"),
        (zeep.exceptions.TransportError("x", status_code=404), "unsupported"),
        (zeep.exceptions.TransportError("x", status_code=500), "invalid_response"),
        (zeep.exceptions.XMLSyntaxError("x"), "invalid_response"),
        (zeep.exceptions.DTDForbidden("n", "s", "p"), "invalid_response"),
    ],
)
def test_errors_are_classified(error: BaseException, reason: str) -> None:
    assert classify(error) == reason


def test_wrapped_library_errors_are_classified_by_their_cause() -> None:
    wrapped = onvif.ONVIFError("boom")
    wrapped.__cause__ = ConnectionResetError()
    assert classify(wrapped) == "unreachable"


def test_main_stream_is_the_largest_and_sub_the_smallest_other() -> None:
    def profile(token: str, width: int, uri: str | None = "rtsp://c/x") -> OnvifProfile:
        return OnvifProfile(token, token, "H264", width, width * 9 // 16,
                            uri and f"{uri}/{token}", None)  # fmt: skip

    device = OnvifDevice("m", "n", "f", "s", 0.0, (
        profile("mid", 1280), profile("big", 1920), profile("small", 640),
        profile("big2", 1920), profile("huge", 3840, None),
    ), ())  # fmt: skip
    assert device.main_stream_uri == "rtsp://c/x/big"
    assert device.sub_stream_uri == "rtsp://c/x/small"
    only = OnvifDevice("m", "n", "f", "s", 0.0, (profile("one", 1920),), ())
    assert (only.main_stream_uri, only.sub_stream_uri) == ("rtsp://c/x/one", None)


def test_error_reason_sets_transient() -> None:
    assert OnvifError("timeout", "x").transient and OnvifError("unreachable", "x").transient
    assert not OnvifError("bad_credentials", "x").transient


async def test_probe_leaves_no_task_behind() -> None:
    with device() as sim:
        await probe(sim)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
