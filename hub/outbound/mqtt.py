"""MQTT sink: each outbox entry published to `{prefix}/incidents/{incident_id}` with QoS 1.

The project's only import of aiomqtt. One persistent connection, opened on first use; any
failure drops it and the next delivery reconnects (the relay paces the retries). A publish
returns only once the broker acknowledged it (PUBACK), so the relay's cursor never runs ahead of
the broker. Logs and errors name the host and port, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from urllib.parse import quote

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from hub.outbound import DeliveryError
from hub.outbox import OutboxEntry

log = logging.getLogger("xueliang.hub.outbound.mqtt")

# MQTT 3.1.1 CONNACK codes 4 (bad user name or password) and 5 (not authorised), and the MQTT 5
# reason codes with the same meaning: no retry helps until the configuration changes.
AUTH_REFUSED_CODES = frozenset({4, 5, 134, 135})
TOPIC_SPECIALS = "/+#\x00"


def incident_topic(prefix: str, incident_id: str) -> str:
    """The incident's topic; characters special to MQTT topics in the id are percent-encoded."""
    if any(char in TOPIC_SPECIALS for char in incident_id):
        incident_id = quote(incident_id, safe="")
    return f"{prefix}/incidents/{incident_id}"


def check_topic_prefix(prefix: str) -> None:
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError("the MQTT topic prefix must be non-empty levels separated by '/'")
    if any(char in prefix for char in "+#\x00"):
        raise ValueError("the MQTT topic prefix must not contain '+', '#' or NUL")


def _code(error: aiomqtt.MqttCodeError) -> int | None:
    rc = error.rc
    if isinstance(rc, ReasonCode):
        return int(rc.value)
    return rc


class MqttSink:
    def __init__(
        self,
        host: str,
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        *,
        topic_prefix: str = "xueliang",
        tls: bool = False,
        ca_file: Path | None = None,
        qos: int = 1,
        timeout_s: float = 10.0,
        name: str = "mqtt",
    ) -> None:
        check_topic_prefix(topic_prefix)
        if qos not in (1, 2):
            raise ValueError("the MQTT QoS must be 1 or 2 (0 gives no delivery guarantee)")
        if password is not None and username is None:
            raise ValueError("an MQTT password needs a username")
        self.name = name
        self.target = f"{host}:{port}"
        self.topic_prefix = topic_prefix
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._tls = tls
        self._ca_file = ca_file
        self._qos = qos
        self._timeout_s = timeout_s
        self._client: aiomqtt.Client | None = None

    def __repr__(self) -> str:
        return f"MqttSink(name={self.name!r}, target={self.target!r})"

    async def deliver(self, entry: OutboxEntry) -> None:
        client = await self._connected()
        topic = incident_topic(self.topic_prefix, entry.incident_id)
        try:
            await client.publish(
                topic, entry.body.encode(), qos=self._qos, retain=False, timeout=self._timeout_s
            )
        except aiomqtt.MqttError as error:
            await self._drop()
            raise DeliveryError(
                f"MQTT publish to {self.target} failed ({_describe(error)})"
            ) from None

    async def aclose(self) -> None:
        await self._drop()

    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            tls_context=self._tls_context(),
            timeout=self._timeout_s,
            keepalive=30,
        )
        try:
            await client.__aenter__()
        except aiomqtt.MqttCodeError as error:
            if _code(error) in AUTH_REFUSED_CODES:
                raise DeliveryError(
                    f"MQTT broker {self.target} refused the connection: bad username or "
                    "password, or not authorised",
                    permanent=True,
                ) from None
            raise DeliveryError(
                f"MQTT broker {self.target} refused the connection ({_describe(error)})"
            ) from None
        except aiomqtt.MqttError as error:
            raise DeliveryError(
                f"MQTT broker {self.target} unreachable ({_describe(error)})"
            ) from None
        log.info("connected to MQTT broker %s", self.target)
        self._client = client
        return client

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        cafile = str(self._ca_file) if self._ca_file is not None else None
        return ssl.create_default_context(cafile=cafile)

    async def _drop(self) -> None:
        """Forget the connection; a lost one is closed without waiting for the broker."""
        client, self._client = self._client, None
        if client is None:
            return
        # aiomqtt keeps the cause of a lost connection in a future nobody else awaits; reading it
        # keeps asyncio from logging "exception was never retrieved".
        disconnected = client._disconnected
        if disconnected.done() and not disconnected.cancelled():
            disconnected.exception()
        with contextlib.suppress(aiomqtt.MqttError, OSError, asyncio.TimeoutError):
            async with asyncio.timeout(self._timeout_s):
                await client.__aexit__(None, None, None)


def _describe(error: aiomqtt.MqttError) -> str:
    """The error's text: aiomqtt's messages hold codes and OS errors, never credentials."""
    return str(error) or type(error).__name__
