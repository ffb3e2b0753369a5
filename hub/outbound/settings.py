"""The configured sinks, built from plain setting values (the hub's settings class holds them).

Settings (environment names as the hub's settings class should spell them):
  XUELIANG_WEBHOOK_URL          http(s)://gateway/path; unset: no webhook
  XUELIANG_WEBHOOK_SECRET       HMAC key, at least 16 characters (required with the URL)
  XUELIANG_WEBHOOK_TIMEOUT_S    per request, default 10
  XUELIANG_MQTT_URL             mqtt://user:pass@host:1883/prefix or mqtts://... (8883); unset:
                                no MQTT. Percent-encode special characters of user and password.
  XUELIANG_MQTT_CA_FILE         a PEM bundle for mqtts:// with a private CA (default: system CAs)
Errors name the setting and never its value: URLs may carry passwords.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from hub.outbound import Sink
from hub.outbound.mqtt import MqttSink, check_topic_prefix
from hub.outbound.webhook import WebhookSink

DEFAULT_TOPIC_PREFIX = "xueliang"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    topic_prefix: str
    tls: bool


def parse_mqtt_url(url: str) -> MqttTarget:
    """`mqtt[s]://[user[:password]@]host[:port][/topic/prefix]`; ValueError names no part."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("XUELIANG_MQTT_URL is not a valid URL (check the port)") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("XUELIANG_MQTT_URL must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError("XUELIANG_MQTT_URL needs a host")
    if parts.query or parts.fragment:
        raise ValueError(
            "XUELIANG_MQTT_URL takes no query or fragment (percent-encode '#' and '?')"
        )
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and username is None:
        raise ValueError("XUELIANG_MQTT_URL has a password without a username")
    prefix = unquote(parts.path.strip("/")) or DEFAULT_TOPIC_PREFIX
    try:
        check_topic_prefix(prefix)
    except ValueError as error:
        raise ValueError(f"XUELIANG_MQTT_URL: {error}") from None
    return MqttTarget(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        username=username,
        password=password,
        topic_prefix=prefix,
        tls=parts.scheme == "mqtts",
    )


def _plain(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None


def sinks_from_settings(
    *,
    webhook_url: str | None = None,
    webhook_secret: str | SecretStr | None = None,
    webhook_timeout_s: float = 10.0,
    mqtt_url: str | SecretStr | None = None,
    mqtt_ca_file: Path | None = None,
) -> list[Sink]:
    """The sinks configured (none, one or both); ValueError on settings that cannot work."""
    sinks: list[Sink] = []
    if webhook_url:
        secret = _plain(webhook_secret)
        if secret is None:
            raise ValueError("XUELIANG_WEBHOOK_SECRET is required with XUELIANG_WEBHOOK_URL")
        try:
            sinks.append(WebhookSink(webhook_url, secret, webhook_timeout_s))
        except ValueError as error:
            raise ValueError(f"XUELIANG_WEBHOOK_*: {error}") from None
    elif _plain(webhook_secret) is not None:
        raise ValueError("XUELIANG_WEBHOOK_SECRET is set but XUELIANG_WEBHOOK_URL is not")
    url = _plain(mqtt_url)
    if url is not None:
        target = parse_mqtt_url(url)
        if mqtt_ca_file is not None and not target.tls:
            raise ValueError("XUELIANG_MQTT_CA_FILE needs an mqtts:// XUELIANG_MQTT_URL")
        if mqtt_ca_file is not None and not mqtt_ca_file.is_file():
            raise ValueError("XUELIANG_MQTT_CA_FILE is not a readable file")
        sinks.append(
            MqttSink(
                target.host,
                target.port,
                target.username,
                target.password,
                topic_prefix=target.topic_prefix,
                tls=target.tls,
                ca_file=mqtt_ca_file,
            )
        )
    return sinks
