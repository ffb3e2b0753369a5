"""Hostile ONVIF devices: a redirect to a forbidden address, an endless answer, a clock answer
without a date. Each must end as a classified OnvifError, with nothing followed or hoarded."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from cameras.guarded_http import MAX_ANSWER_BYTES
from cameras.netguard import NetworkPolicy
from cameras.onvif import probe_device
from cameras.onvif_model import OnvifError
from tests.onvif_sim import DeviceConfig, OnvifSimulator
from tests.onvif_sim.fixtures import tcp_sink

LOOPBACK = NetworkPolicy.parse(["127.0.0.1/32"])
Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_device(answer: Answer) -> AsyncIterator[int]:
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def probe_error(port: int, timeout_s: float = 3.0) -> OnvifError:
    try:
        await probe_device("127.0.0.1", port, "admin", "pw", policy=LOOPBACK, timeout_s=timeout_s)
    except OnvifError as error:
        return error
    raise AssertionError("the probe succeeded")


async def test_a_redirect_to_a_forbidden_address_is_not_followed() -> None:
    async with tcp_sink("127.0.0.2") as sink:

        async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.2:%d/x\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n" % sink.port
            )
            await writer.drain()
            writer.close()

        async with raw_device(redirect) as port:
            error = await probe_error(port)
        await asyncio.sleep(0.2)
        assert sink.connections == 0
    assert not error.transient


async def test_an_endless_answer_is_cut_at_the_cap() -> None:
    sent = 0

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
                     b"Content-Length: 300000000\r\n\r\n")  # fmt: skip
        chunk = b"<" * 65536
        try:
            while sent < 300_000_000:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except (ConnectionError, OSError):
            pass  # the client hung up: what we want
        writer.close()

    async with raw_device(endless) as port:
        error = await probe_error(port, timeout_s=10)
    assert error.reason == "invalid_response"
    assert sent < 50 * MAX_ANSWER_BYTES  # stopped reading long before the end


async def test_a_clock_answer_without_a_date_is_an_invalid_response() -> None:
    def no_date(operation: str, payload: bytes) -> bytes:
        if operation == "GetSystemDateAndTime":
            return re.sub(rb"<tt:Date>.*?</tt:Date>", b"", payload, flags=re.DOTALL)
        return payload

    with OnvifSimulator(DeviceConfig(tamper=no_date)) as sim:
        error = await probe_error(sim.port)
    assert error.reason == "invalid_response" and "GetSystemDateAndTime" in str(error)
