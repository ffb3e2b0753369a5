"""MQTT delivery against a real mosquitto broker started per test on a loopback port, read back
by a real aiomqtt subscriber: order per topic, a broker restart mid-stream, authentication."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import aiomqtt
import pytest

from hub.outbound import DeliveryError
from hub.outbound.mqtt import MqttSink, incident_topic
from hub.outbound.relay import Relay
from hub.outbound.settings import parse_mqtt_url, sinks_from_settings
from tests.canary import CANARY_PASSWORD, CANARY_USER, leaks
from tests.hub.test_outbound import FAST, MemoryOutbox, change_entries, running, wait_for
from tests.redis_server import free_port


class Mosquitto:
    """A mosquitto broker in `folder`: persistence on, so a restart keeps sessions."""

    def __init__(
        self, folder: Path, users: dict[str, str] | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
        if binary is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            f"user {getpass.getuser()}",  # as root, stay root: tmp_path is not mosquitto's
        ]
        if users:
            lines += ["allow_anonymous false", f"password_file {folder / 'passwd'}"]
            for user, password in users.items():
                flags = ["-c"] if user == next(iter(users)) else []
                subprocess.run(
                    ["mosquitto_passwd", "-b", *flags, str(folder / "passwd"), user, password],
                    check=True, capture_output=True,
                )  # fmt: skip
        else:
            lines.append("allow_anonymous true")
        lines += extra  # more listeners
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        with (self.folder / "mosquitto.log").open("ab") as log_file:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log_file, stderr=log_file
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "mosquitto.log").read_text()
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its sessions and queued messages, then exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path)
    server.start()
    yield server
    server.stop()


class Subscriber:
    """A persistent-session subscriber to `{prefix}/incidents/#` that reconnects on its own."""

    def __init__(self, port: int, prefix: str = "xueliang", **auth: str) -> None:
        self.port, self.prefix, self.auth = port, prefix, auth
        self.messages: list[tuple[str, str]] = []
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier="test-gateway", clean_session=False,
                    **self.auth,  # type: ignore[arg-type]
                ) as client:  # fmt: skip
                    await client.subscribe(f"{self.prefix}/incidents/#", qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        self.messages.append((str(message.topic), message.payload.decode()))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def distinct(self) -> list[tuple[str, str]]:
        """Messages in order of first arrival (QoS 1 may repeat one)."""
        return list(dict.fromkeys(self.messages))


@contextlib.asynccontextmanager
async def subscribed(subscriber: Subscriber) -> AsyncIterator[Subscriber]:
    task = asyncio.create_task(subscriber.run())
    try:
        async with asyncio.timeout(30):
            await subscriber.subscribed.wait()
        yield subscriber
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def expected(entries_from: int, count: int, prefix: str = "xueliang") -> list[tuple[str, str]]:
    return [
        (incident_topic(prefix, entry.incident_id), entry.body)
        for entry in change_entries(count, first_id=entries_from)
    ]


async def test_subscriber_receives_each_change_on_its_incident_topic_in_order(
    broker: Mosquitto,
) -> None:
    outbox = MemoryOutbox()
    outbox.add(*change_entries(8))
    relay = Relay(outbox, MqttSink("127.0.0.1", broker.port), backoff=FAST, poll_s=0.05)
    async with subscribed(Subscriber(broker.port)) as subscriber, running(relay):
        await wait_for(lambda: len(subscriber.messages) >= 8)
        await asyncio.sleep(0.2)  # room for a duplicate to show up
    assert subscriber.messages == expected(1, 8)
    assert subscriber.messages[0][0] == "xueliang/incidents/inc-0"
    assert outbox.cursors["mqtt"] == 8 and relay.stats.failures == 0


async def test_broker_restarted_mid_stream_relay_reconnects_and_delivers_the_rest(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = MemoryOutbox()
    outbox.add(*change_entries(5))
    relay = Relay(outbox, MqttSink("127.0.0.1", broker.port, timeout_s=3), backoff=FAST)
    caplog.set_level(logging.DEBUG)
    async with subscribed(Subscriber(broker.port)) as subscriber, running(relay):
        await wait_for(lambda: len(subscriber.distinct()) == 5)
        broker.stop()
        outbox.add(*change_entries(10)[5:])
        relay.wake()
        await wait_for(lambda: relay.stats.failures >= 2)
        broker.start()
        await wait_for(lambda: len(subscriber.distinct()) == 10, timeout_s=60)
    assert subscriber.distinct() == expected(1, 10)
    assert outbox.cursors["mqtt"] == 10
    assert "unreachable" in caplog.text or "failed" in caplog.text
    assert "never retrieved" not in caplog.text


async def test_authenticated_broker_gets_changes_and_the_password_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = Mosquitto(tmp_path, users={CANARY_USER: CANARY_PASSWORD, "reader": "reader-pw-42"})
    server.start()
    caplog.set_level(logging.DEBUG)
    password = quote(CANARY_PASSWORD, safe="")
    (sink,) = sinks_from_settings(
        mqtt_url=f"mqtt://{CANARY_USER}:{password}@127.0.0.1:{server.port}/city/xl"
    )
    outbox = MemoryOutbox()
    outbox.add(*change_entries(3))
    relay = Relay(outbox, sink, backoff=FAST, poll_s=0.05)
    reader = Subscriber(server.port, "city/xl", username="reader", password="reader-pw-42")
    try:
        async with subscribed(reader), running(relay):
            await wait_for(lambda: len(reader.distinct()) == 3)
    finally:
        server.stop()
    assert reader.distinct() == expected(1, 3, prefix="city/xl")
    assert f"127.0.0.1:{server.port}" in caplog.text  # the host and port are logged ...
    assert not leaks(caplog.text) and not leaks(repr(sink))  # ... never the password


async def test_wrong_password_is_a_clear_permanent_error_naming_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = Mosquitto(tmp_path, users={CANARY_USER: "the-right-one-1234"})
    server.start()
    caplog.set_level(logging.DEBUG)
    sink = MqttSink("127.0.0.1", server.port, CANARY_USER, CANARY_PASSWORD)
    try:
        with pytest.raises(DeliveryError, match="bad username or password") as raised:
            await sink.deliver(change_entries(1)[0])
    finally:
        await sink.aclose()
        server.stop()
    assert raised.value.permanent
    assert f"127.0.0.1:{server.port}" in str(raised.value)
    assert not leaks(str(raised.value)) and not leaks(caplog.text)


async def test_broker_down_is_a_transient_error_naming_host_and_port() -> None:
    port = free_port()
    sink = MqttSink("127.0.0.1", port, "gateway", CANARY_PASSWORD, timeout_s=3)
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port} unreachable") as raised:
        await sink.deliver(change_entries(1)[0])
    assert not raised.value.permanent and not leaks(str(raised.value))


def test_topic_escapes_mqtt_specials_in_the_incident_id() -> None:
    assert incident_topic("xueliang", "inc-1") == "xueliang/incidents/inc-1"
    assert incident_topic("x", "a/b+c#") == "x/incidents/a%2Fb%2Bc%23"


def test_mqtt_url_gives_host_port_credentials_prefix_and_tls() -> None:
    target = parse_mqtt_url(f"mqtts://gw:{quote(CANARY_PASSWORD, safe='')}@broker.lan/a/b")
    assert (target.host, target.port, target.tls, target.topic_prefix) == (
        "broker.lan", 8883, True, "a/b",
    )  # fmt: skip
    assert (target.username, target.password) == ("gw", CANARY_PASSWORD)
    assert not leaks(repr(target))
    plain = parse_mqtt_url("mqtt://10.0.0.5")
    assert (plain.port, plain.tls, plain.topic_prefix, plain.username) == (
        1883, False, "xueliang", None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker", "mqtt:// or mqtts://"),
        ("mqtt://", "needs a host"),
        ("mqtt://broker:70000", "check the port"),
        ("mqtt://broker/a/+", "must not contain"),
        ("mqtt://u:p@broker/?x=1", "no query"),
        ("mqtt://:secret-pw@broker", "without a username"),
    ],
)
def test_bad_mqtt_url_is_refused_without_echoing_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        sinks_from_settings(mqtt_url=url)
    assert "secret-pw" not in str(raised.value) and url not in str(raised.value)
