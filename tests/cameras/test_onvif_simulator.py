"""The loopback ONVIF device simulator itself, which the adapter's tests rely on: its answers
are valid ONVIF (checked against the schemas embedded in the onvif package's WSDLs) and its
WS-Security check is real (digest and clock skew)."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import onvif
import pytest
from lxml import etree

from tests.onvif_sim import SimProfile, soap

WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
XS = "http://www.w3.org/2001/XMLSchema"


def schema_of(wsdl: str) -> Any:
    """The WSDL's embedded schema on its own; its imports (onvif.xsd, ...) resolve locally."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    embedded = etree.parse(str(WSDL_DIR / wsdl), parser).find(f".//{{{XS}}}schema")
    standalone = etree.fromstring(etree.tostring(embedded), parser, base_url=str(WSDL_DIR / wsdl))
    return etree.XMLSchema(standalone)


def test_simulator_answers_validate_against_the_onvif_schemas() -> None:
    device_schema, media_schema, ptz_schema = (
        schema_of("devicemgmt.wsdl"), schema_of("media.wsdl"), schema_of("ptz.wsdl"),
    )  # fmt: skip
    profile = SimProfile("main", "main", 1920, 1080)
    url = "http://127.0.0.1:80/onvif/x"
    answers = [
        (device_schema, soap.system_date_and_time(dt.datetime(2024, 5, 6, 7, 8, 9))),
        (device_schema, soap.device_information("m", "n", "f", "s")),
        (device_schema, soap.services({soap.NS["trt"]: url})),
        (device_schema, soap.capabilities(url, url, url)),
        (media_schema, soap.profiles((profile,), ptz=True)),
        (media_schema, soap.media_uri("GetStreamUri", "rtsp://127.0.0.1/x")),
        (media_schema, soap.media_uri("GetSnapshotUri", url)),
        (ptz_schema, soap.presets((("1", "Gate"),))),
        (ptz_schema, soap.GOTO_PRESET),
    ]
    for schema, body in answers:
        envelope = etree.fromstring(soap.envelope(body))
        answer = envelope.find(f"{{{soap.ENV}}}Body")[0]
        assert schema.validate(answer), (body[:60], schema.error_log.last_error)
    broken = etree.fromstring(soap.envelope("<tds:GetDeviceInformationResponse/>"))
    assert not device_schema.validate(broken.find(f"{{{soap.ENV}}}Body")[0])


def username_token(password: str, created: str, kind: str = soap.DIGEST) -> Any:
    nonce = b"0123456789abcdef"
    secret = soap.password_digest(nonce, created, password) if kind == soap.DIGEST else password
    header = (
        f'<Header xmlns="{soap.ENV}"><s:Security xmlns:s="{soap.WSSE}"><s:UsernameToken>'
        f'<s:Username>admin</s:Username><s:Password Type="{kind}">{secret}</s:Password>'
        f"<s:Nonce>{base64.b64encode(nonce).decode()}</s:Nonce>"
        f'<u:Created xmlns:u="{soap.WSU}">{created}</u:Created></s:UsernameToken></s:Security>'
        "</Header>"
    )
    return etree.fromstring(header)


@pytest.mark.parametrize(
    ("password", "created", "kind", "verdict"),
    [
        ("pw", "2024-05-06T07:08:09Z", soap.DIGEST, None),
        ("pw", "2024-05-06T07:08:12Z", soap.DIGEST, None),
        ("pw", "2024-05-06T09:08:09Z", soap.DIGEST, "Created too far from the device clock"),
        ("nope", "2024-05-06T07:08:09Z", soap.DIGEST, "wrong digest"),
        ("pw", "2024-05-06T07:08:09Z", "PasswordText", "not a PasswordDigest"),
    ],
)
def test_simulator_checks_the_digest_and_its_own_clock(
    password: str, created: str, kind: str, verdict: str | None
) -> None:
    from xml.etree import ElementTree

    header = ElementTree.fromstring(etree.tostring(username_token(password, created, kind)))
    now = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert soap.check_username_token(header, "admin", "pw", now, max_skew_s=5) == verdict
