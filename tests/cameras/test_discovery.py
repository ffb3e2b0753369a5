"""WS-Discovery: the parse as a table, the probe against a loopback responder, then the found
device probed over ONVIF."""

from __future__ import annotations

import time
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from cameras.discovery import (
    ENV,
    WSA,
    WSD,
    DiscoveredDevice,
    discover,
    merge,
    parse_probe_matches,
    probe_message,
)
from cameras.netguard import NetworkPolicy
from cameras.onvif import probe_device
from tests.onvif_sim import DeviceConfig, OnvifSimulator
from tests.onvif_sim.fixtures import discovery_responder, probe_matches
from tests.redis_server import free_port

ID = "urn:uuid:11111111-2222-4333-8444-555555555555"
REF = "urn:uuid:cafe"
XADDRS = "http://10.0.0.5/onvif/device_service http://[fd00::5]/onvif"
GOOD = probe_matches(
    ID, REF, XADDRS, "onvif://www.onvif.org/name/Gate onvif://www.onvif.org/hardware/X"
)
EXPECTED = DiscoveredDevice(
    xaddrs=("http://10.0.0.5/onvif/device_service", "http://[fd00::5]/onvif"),
    scopes=("onvif://www.onvif.org/name/Gate", "onvif://www.onvif.org/hardware/X"),
    endpoint_reference=REF,
)
ENTITIES = (
    b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
) + GOOD.split(b"?>", 1)[1].replace(b"onvif://www.onvif.org/name/Gate", b"&b;")
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.2:9/x.dtd">' + GOOD.split(b"?>", 1)[1]
)


@pytest.mark.parametrize(
    ("datagram", "message_id", "expected"),
    [
        (GOOD, ID, [EXPECTED]),
        (GOOD, None, [EXPECTED]),
        (GOOD, "urn:uuid:another-probe", []),
        (GOOD + b" " * (64 * 1024), ID, []),  # over 64 KiB
        (ENTITIES, ID, []),
        (EXTERNAL, ID, []),
        (b"\x00\xff not xml", ID, []),
        (probe_message(ID), ID, []),  # a Probe, not an answer
        (GOOD.replace(b"<d:XAddrs>", b"<d:XAddrs> ").split(b"<d:XAddrs>")[0], ID, []),
        (probe_matches(ID, REF, "", "x"), ID, []),  # no XAddrs: would need a Resolve
        (probe_matches(ID, "", "http://10.0.0.5/onvif", "x"), ID, []),  # no endpoint
    ],
    ids=["match", "unfiltered", "other-probe", "oversize", "entities", "external-dtd",
         "garbage", "probe", "truncated", "no-xaddrs", "no-reference"],
)  # fmt: skip
def test_parse_probe_matches(
    datagram: bytes, message_id: str | None, expected: list[DiscoveredDevice]
) -> None:
    assert parse_probe_matches(datagram, message_id) == expected


def test_probe_message_asks_for_video_transmitters() -> None:
    root = ElementTree.fromstring(probe_message(ID))
    assert root.findtext(f"{{{ENV}}}Header/{{{WSA}}}MessageID") == ID
    assert root.findtext(f"{{{ENV}}}Header/{{{WSA}}}Action") == f"{WSD}/Probe"
    types = root.findtext(f"{{{ENV}}}Body/{{{WSD}}}Probe/{{{WSD}}}Types")
    assert types == "dn:NetworkVideoTransmitter"


def test_merge_keeps_one_entry_per_endpoint() -> None:
    other = DiscoveredDevice(("http://10.0.0.6/onvif",), (), "urn:uuid:other")
    assert merge([EXPECTED, other, EXPECTED]) == [EXPECTED, other]


async def test_discover_finds_the_loopback_responder_and_skips_noise() -> None:
    noise = (b"garbage", ENTITIES, GOOD)  # GOOD answers another probe id: ignored
    async with discovery_responder("http://127.0.0.1:8080/onvif/device_service", noise) as (
        responder, address,
    ):  # fmt: skip
        started = time.monotonic()
        found = await discover(5.0, targets=[address], limit=1)
        elapsed_s = time.monotonic() - started
    assert [d.xaddrs for d in found] == [("http://127.0.0.1:8080/onvif/device_service",)]
    assert found[0].endpoint_reference == responder.reference
    assert len(responder.probes) == 1
    assert elapsed_s < 2.0  # returned on the first answer, not at the end of the window


async def test_discover_with_nobody_answering_returns_empty_after_the_window() -> None:
    started = time.monotonic()
    assert await discover(0.3, targets=[("127.0.0.1", free_port())]) == []
    assert 0.3 <= time.monotonic() - started < 1.5


async def test_discovered_device_can_be_probed() -> None:
    with OnvifSimulator(DeviceConfig(password="pw")) as sim:
        xaddr = sim.url("/onvif/device_service")
        async with discovery_responder(xaddr) as (_, address):
            found = await discover(5.0, targets=[address], limit=1)
        parts = urlsplit(found[0].xaddrs[0])
        assert parts.hostname is not None and parts.port is not None
        device = await probe_device(parts.hostname, parts.port, "admin", "pw",
                                    policy=NetworkPolicy.parse(["127.0.0.1/32"]))  # fmt: skip
    assert device.main_stream_uri == "rtsp://127.0.0.1:8554/main"
