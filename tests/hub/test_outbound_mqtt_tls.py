"""mqtts:// against a real mosquitto TLS listener with a private CA (a closed network's usual
set-up): verified with the configured CA file, refused without it."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.outbound import DeliveryError
from hub.outbound.settings import sinks_from_settings
from tests.hub.test_outbound import change_entries, wait_for
from tests.hub.test_outbound_mqtt import Mosquitto, Subscriber, expected, subscribed
from tests.redis_server import free_port


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xueliang-test-broker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "broker.pem", folder / "broker.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_broker(tmp_path: Path) -> tuple[Mosquitto, int, Path]:
    """A broker with a plain listener (the test's subscriber) and a TLS one (the sink)."""
    cert_file, key_file = self_signed(tmp_path)
    tls_port = free_port()
    listener = (f"listener {tls_port} 127.0.0.1", f"certfile {cert_file}", f"keyfile {key_file}")
    return Mosquitto(tmp_path, extra=listener), tls_port, cert_file


async def test_mqtts_with_the_private_ca_delivers_over_tls(
    tls_broker: tuple[Mosquitto, int, Path],
) -> None:
    broker, tls_port, ca_file = tls_broker
    broker.start()
    (sink,) = sinks_from_settings(
        mqtt_url=f"mqtts://127.0.0.1:{tls_port}/secure", mqtt_ca_file=ca_file
    )
    try:
        async with subscribed(Subscriber(broker.port, "secure")) as subscriber:
            for entry in change_entries(2):
                await sink.deliver(entry)
            await sink.aclose()
            await wait_for(lambda: len(subscriber.distinct()) == 2)
    finally:
        broker.stop()
    assert subscriber.distinct() == expected(1, 2, prefix="secure")


async def test_mqtts_without_the_ca_refuses_the_unknown_certificate(
    tls_broker: tuple[Mosquitto, int, Path],
) -> None:
    broker, tls_port, _ = tls_broker
    broker.start()
    (sink,) = sinks_from_settings(mqtt_url=f"mqtts://127.0.0.1:{tls_port}")
    try:
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            await sink.deliver(change_entries(1)[0])
    finally:
        await sink.aclose()
        broker.stop()
