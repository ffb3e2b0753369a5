"""Helpers around the simulator: a TCP sink counting connections (SSRF canary) and a
WS-Discovery responder on a loopback unicast address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast
from xml.etree import ElementTree

from tests.onvif_sim.soap import ENV

WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


@dataclass
class Sink:
    host: str
    port: int = 0
    connections: int = 0


@asynccontextmanager
async def tcp_sink(host: str) -> AsyncIterator[Sink]:
    """A listener that counts inbound connections: a URL leading here must never be followed."""
    sink = Sink(host)

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sink.connections += 1
        writer.close()

    server = await asyncio.start_server(count, host, 0)
    sink.port = int(server.sockets[0].getsockname()[1])
    async with server:
        yield sink


def probe_matches(relates_to: str, reference: str, xaddrs: str, scopes: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{ENV}" xmlns:a="{WSA}" '
        f'xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        f"<a:Action>{WSD}/ProbeMatches</a:Action><a:MessageID>urn:uuid:reply-1</a:MessageID>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo>"
        f"<a:To>{WSA}/role/anonymous</a:To></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>{reference}</a:Address></a:EndpointReference>"
        f"<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>{scopes}</d:Scopes>"
        f"<d:XAddrs>{xaddrs}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


@dataclass
class Responder(asyncio.DatagramProtocol):
    """Answers each Probe first with noise (the client must skip it), then a ProbeMatch."""

    xaddrs: str
    reference: str = "urn:uuid:5f0e6a52-0000-4000-8000-00000000cafe"
    scopes: str = "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/Sim"
    noise: tuple[bytes, ...] = ()
    probes: list[bytes] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.probes.append(data)
        message_id = ElementTree.fromstring(data).findtext(f"{{{ENV}}}Header/{{{WSA}}}MessageID")
        assert self.transport is not None and message_id
        for datagram in self.noise:
            self.transport.sendto(datagram, addr)
        reply = probe_matches(message_id, self.reference, self.xaddrs, self.scopes)
        self.transport.sendto(reply, addr)


@asynccontextmanager
async def discovery_responder(
    xaddrs: str, noise: tuple[bytes, ...] = ()
) -> AsyncIterator[tuple[Responder, tuple[str, int]]]:
    loop = asyncio.get_running_loop()
    transport, responder = await loop.create_datagram_endpoint(
        lambda: Responder(xaddrs, noise=noise), local_addr=("127.0.0.1", 0)
    )
    try:
        yield responder, transport.get_extra_info("sockname")[:2]
    finally:
        transport.close()
