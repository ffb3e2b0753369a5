"""Webhook delivery against a real HTTP receiver (Starlette under uvicorn on loopback) that
checks each signature: retries, an outage, redirects, timeouts, and no secret in any log."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.outbound import DeliveryError
from hub.outbound.relay import Relay
from hub.outbound.settings import sinks_from_settings
from hub.outbound.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSink,
    sign,
    verify,
)
from tests.hub.conftest import free_port
from tests.hub.test_outbound import FAST, MemoryOutbox, change_entries, running, wait_for

SECRET = "whsec-Cnry-7f3a-do-not-log"
BODY_MARKER = "RECEIVER-BODY-d41d8"  # what a receiver answers must never reach a log


class Receiver:
    """Accepts correctly signed, fresh POSTs on /hook after answering 500 `fail_first` times."""

    def __init__(self, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.tries: list[int] = []
        self.accepted: list[int] = []
        self.bodies: list[str] = []
        self.rejected_signatures = 0
        self.moved_hits = 0
        self.app = Starlette(
            routes=[
                Route("/hook", self.hook, methods=["POST"]),
                Route("/redirect", self.redirect, methods=["POST"]),
                Route("/moved", self.moved, methods=["POST"]),
            ]
        )

    async def hook(self, request: Request) -> Response:
        body = (await request.body()).decode()
        headers = request.headers
        if headers.get("content-type") != "application/json" or not verify(
            SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], time.time()
        ):
            self.rejected_signatures += 1
            return PlainTextResponse("bad signature", status_code=401)
        await asyncio.sleep(self.delay_s)
        event_id = int(headers[EVENT_ID_HEADER])
        self.tries.append(event_id)
        if len(self.tries) <= self.fail_first:
            return PlainTextResponse(BODY_MARKER + SECRET, status_code=500)
        self.accepted.append(event_id)
        self.bodies.append(body)
        return PlainTextResponse("ok")

    async def redirect(self, request: Request) -> Response:
        return RedirectResponse("/moved", status_code=307)

    async def moved(self, request: Request) -> Response:
        self.moved_hits += 1
        return PlainTextResponse("ok")


@asynccontextmanager
async def serving(receiver: Receiver, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(receiver.app, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the receiver did not start"
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def logged_and_raised(caplog: pytest.LogCaptureFixture, errors: list[str]) -> str:
    return caplog.text + "\n".join(errors)


def test_signature_covers_timestamp_and_body_and_stale_requests_fail() -> None:
    body, now_s = '{"incident_id":"inc-1"}', 1_700_000_000
    signature = sign(SECRET, now_s, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, str(now_s), body, signature, now_s + 10)
    assert not verify(SECRET, str(now_s), body + " ", signature, now_s)
    assert not verify(SECRET, str(now_s + 1), body, signature, now_s)
    assert not verify("another-secret-entirely", str(now_s), body, signature, now_s)
    assert not verify(SECRET, str(now_s), body, signature, now_s + 301)  # a replay, too late
    assert not verify(SECRET, "soon", body, signature, now_s)


async def test_500s_then_200_deliver_every_entry_once_in_order_and_log_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver, port, outbox = Receiver(fail_first=3), free_port(), MemoryOutbox()
    entries = change_entries(6)
    outbox.add(*entries)
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook", SECRET, timeout_s=10)
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    caplog.set_level(logging.DEBUG)
    async with serving(receiver, port), running(relay):
        await wait_for(lambda: len(receiver.accepted) == 6)
    assert receiver.accepted == [1, 2, 3, 4, 5, 6]
    assert receiver.tries[:4] == [1, 1, 1, 1]  # the first entry retried, nothing overtook it
    assert receiver.bodies == [entry.body for entry in entries]
    assert json.loads(receiver.bodies[0])["incident_id"] == "inc-0"
    assert receiver.rejected_signatures == 0
    assert relay.stats.failures == 3 and outbox.cursors["webhook"] == 6
    assert "HTTP 500" in caplog.text
    assert SECRET not in caplog.text and BODY_MARKER not in caplog.text


async def test_receiver_down_then_up_catches_up_from_the_cursor() -> None:
    receiver, port, outbox = Receiver(), free_port(), MemoryOutbox()
    outbox.add(*change_entries(3))
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook", SECRET, timeout_s=5)
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    async with running(relay):
        await wait_for(lambda: relay.stats.failures >= 3)  # nothing listens on the port
        outbox.add(*change_entries(2, first_id=4))
        async with serving(receiver, port):
            await wait_for(lambda: len(receiver.accepted) == 5)
    assert receiver.accepted == [1, 2, 3, 4, 5]
    assert outbox.cursors["webhook"] == 5


async def test_redirect_is_not_followed_and_is_a_permanent_error() -> None:
    receiver, port = Receiver(), free_port()
    sink = WebhookSink(f"http://127.0.0.1:{port}/redirect", SECRET)
    async with serving(receiver, port):
        with pytest.raises(DeliveryError, match="redirect") as raised:
            await sink.deliver(change_entries(1)[0])
        await sink.aclose()
    assert raised.value.permanent
    assert receiver.moved_hits == 0


async def test_slow_receiver_is_a_timeout_error_naming_no_secret() -> None:
    receiver, port = Receiver(delay_s=5), free_port()
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook?token={SECRET}", SECRET, timeout_s=0.3)
    async with serving(receiver, port):
        with pytest.raises(DeliveryError, match=r"timed out after 0\.3 s") as raised:
            await sink.deliver(change_entries(1)[0])
        await sink.aclose()
    assert not raised.value.permanent
    assert SECRET not in str(raised.value) and SECRET not in repr(sink)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_unreachable_receiver_error_names_host_not_secret() -> None:
    sink = WebhookSink(f"http://127.0.0.1:{free_port()}/hook?token={SECRET}", SECRET)
    with pytest.raises(DeliveryError, match=r"http://127.0.0.1:\d+ unreachable") as raised:
        await sink.deliver(change_entries(1)[0])
    await sink.aclose()
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("ftp://gw/hook", SECRET, "http:// or https://"),
        ("http:///hook", SECRET, "with a host"),
        ("http://gw:99999/hook", SECRET, "not a valid URL"),
        ("http://user:pw@gw/hook", SECRET, "must not carry a user"),
        ("http://gw/hook", "short", "at least 16 characters"),
        ("http://gw/hook", None, "XUELIANG_WEBHOOK_SECRET is required"),
    ],
)
def test_bad_webhook_settings_are_refused_with_a_clear_reason(
    url: str, secret: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        sinks_from_settings(webhook_url=url, webhook_secret=secret)
    assert "pw" not in str(raised.value) and "short" not in str(raised.value)


def test_no_settings_no_sinks_and_a_secret_alone_is_refused() -> None:
    assert sinks_from_settings() == []
    with pytest.raises(ValueError, match="XUELIANG_WEBHOOK_URL is not"):
        sinks_from_settings(webhook_secret=SECRET)
