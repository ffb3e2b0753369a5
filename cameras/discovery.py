"""WS-Discovery: find ONVIF cameras on the local network.

One Probe (SOAP 1.2 over UDP) goes to the multicast group 239.255.255.250:3702 (or to given
addresses), and every ProbeMatch that comes back within `timeout_s` names a device: its service
addresses (XAddrs, to hand to `cameras.onvif.probe_device`), scopes and endpoint reference.
Written on asyncio UDP rather than the `wsdiscovery` package: one message out, one parse in, and
the parse must be strict about untrusted datagrams (size bound, no DTD, so no entities).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

logger = logging.getLogger(__name__)

MULTICAST = ("239.255.255.250", 3702)
MAX_DATAGRAM_BYTES = 64 * 1024
ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
PROBE_ACTION = f"{WSD}/Probe"
MATCHES_ACTION = f"{WSD}/ProbeMatches"


@dataclass(frozen=True)
class DiscoveredDevice:
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    endpoint_reference: str


def probe_message(message_id: str) -> bytes:
    """A Probe for ONVIF video transmitters; `message_id` is `urn:uuid:...`."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{ENV}" xmlns:a="{WSA}" xmlns:d="{WSD}" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        f'<a:Action s:mustUnderstand="1">{PROBE_ACTION}</a:Action>'
        f"<a:MessageID>{message_id}</a:MessageID>"
        f"<a:ReplyTo><a:Address>{WSA}/role/anonymous</a:Address></a:ReplyTo>"
        '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
        "</s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>"
        "</s:Body></s:Envelope>"
    ).encode()


def parse_probe_matches(
    datagram: bytes, message_id: str | None = None, max_bytes: int = MAX_DATAGRAM_BYTES
) -> list[DiscoveredDevice]:
    """The devices in a ProbeMatches datagram; [] for anything else (too big, not XML, a DTD,
    another message, an answer to another probe when `message_id` is given)."""
    if len(datagram) > max_bytes:
        return []
    try:
        root = _parse_without_dtd(datagram)
    except (ElementTree.ParseError, ValueError):
        return []
    header = root.find(f"{{{ENV}}}Header")
    if message_id is not None and (
        header is None or (header.findtext(f"{{{WSA}}}RelatesTo") or "").strip() != message_id
    ):
        return []
    matches = root.find(f"{{{ENV}}}Body/{{{WSD}}}ProbeMatches")
    if matches is None:
        return []
    return [device for match in matches.iter(f"{{{WSD}}}ProbeMatch") if (device := _device(match))]


def _device(match: ElementTree.Element) -> DiscoveredDevice | None:
    xaddrs = tuple((match.findtext(f"{{{WSD}}}XAddrs") or "").split())
    reference = (match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address") or "").strip()
    if not xaddrs or not reference:
        return None  # a match without XAddrs needs a Resolve round; not worth it for cameras
    scopes = tuple((match.findtext(f"{{{WSD}}}Scopes") or "").split())
    return DiscoveredDevice(xaddrs=xaddrs, scopes=scopes, endpoint_reference=reference)


class _NoDoctype(ElementTree.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise ValueError("DOCTYPE not allowed")


def _parse_without_dtd(data: bytes) -> ElementTree.Element:
    """expat never fetches external entities; refusing any DOCTYPE (called before its
    declarations are read) also rules out entity expansion: defusedxml's rule, no dependency."""
    parser = ElementTree.XMLParser(target=_NoDoctype())  # noqa: S314 (DTDs refused)
    parser.feed(data)
    return parser.close()


def merge(found: Sequence[DiscoveredDevice]) -> list[DiscoveredDevice]:
    """One entry per endpoint reference (a device answers once per probe it hears)."""
    by_reference: dict[str, DiscoveredDevice] = {}
    for device in found:
        by_reference.setdefault(device.endpoint_reference, device)
    return list(by_reference.values())


MAX_DEVICES = 1024


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str, limit: int | None) -> None:
        self.message_id, self.limit = message_id, limit
        self.found: list[DiscoveredDevice] = []
        self.enough = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.found = merge([*self.found, *parse_probe_matches(data, self.message_id)])
        if self.limit is not None and len(self.found) >= self.limit:
            self.enough.set()

    def error_received(self, exc: Exception) -> None:
        logger.debug("WS-Discovery socket error: %s", exc)


async def discover(
    timeout_s: float = 3.0, *, targets: Sequence[tuple[str, int]] = (MULTICAST,),
    limit: int = MAX_DEVICES,
) -> list[DiscoveredDevice]:  # fmt: skip
    """Probe `targets` and collect answers for `timeout_s` (or until `limit` devices answered:
    a flood of answers on the local network stops the window instead of growing memory)."""
    loop = asyncio.get_running_loop()
    message_id = f"urn:uuid:{uuid.uuid4()}"
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id, limit),
        local_addr=("0.0.0.0", 0),  # noqa: S104 (answers come from any camera on the network)
        family=socket.AF_INET,
    )
    try:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # the local network only
        message = probe_message(message_id)
        for target in targets:
            try:
                transport.sendto(message, target)
            except OSError as error:  # e.g. no multicast route on this host
                logger.warning("WS-Discovery probe to %s:%d failed: %s", *target, error)
        with contextlib.suppress(TimeoutError):  # the window closed: what answered is the result
            await asyncio.wait_for(collector.enough.wait(), timeout_s)
    finally:
        transport.close()
    return collector.found
