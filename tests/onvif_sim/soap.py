"""SOAP 1.2 for the ONVIF device simulator: request parsing, WS-UsernameToken checks, answers.

Answers are templates written against the ONVIF WSDLs shipped in onvif-zeep-async; the tests
validate every one of them against those schemas, and the client parses them with zeep.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
NS = {
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
}
CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@dataclass(frozen=True)
class Request:
    operation: str  # local name of the Body's first element
    body: ElementTree.Element
    header: ElementTree.Element | None


def parse_request(payload: bytes) -> Request:
    root = ElementTree.fromstring(payload)  # from our own client under test
    body = root.find(f"{{{ENV}}}Body")
    if body is None or len(body) == 0:
        raise ValueError("no SOAP 1.2 Body")
    return Request(body[0].tag.rsplit("}", 1)[-1], body[0], root.find(f"{{{ENV}}}Header"))


def text_of(element: ElementTree.Element, local_name: str) -> str | None:
    found = element.find(f".//{{*}}{local_name}")
    return None if found is None or found.text is None else found.text


def check_username_token(
    header: ElementTree.Element | None, username: str, password: str, now: dt.datetime,
    max_skew_s: float,
) -> str | None:  # fmt: skip
    """None when the WS-UsernameToken is valid, else why not (for the test's records).

    Digest = Base64(SHA-1(nonce + created + password)); Created must be near the device's clock."""
    token = None if header is None else header.find(f".//{{{WSSE}}}UsernameToken")
    if token is None:
        return "no UsernameToken"
    password_node = token.find(f"{{{WSSE}}}Password")
    if password_node is None or password_node.get("Type") != DIGEST:
        return "not a PasswordDigest"
    nonce_text, created = text_of(token, "Nonce"), text_of(token, "Created")
    if not nonce_text or not created:
        return "no Nonce or Created"
    if token.findtext(f"{{{WSSE}}}Username") != username:
        return "unknown user"
    expected = password_digest(base64.b64decode(nonce_text), created, password)
    if not hmac.compare_digest(expected, password_node.text or ""):
        return "wrong digest"
    created_at = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    if abs((created_at - now).total_seconds()) > max_skew_s:
        return "Created too far from the device clock"
    return None


def password_digest(nonce: bytes, created: str, password: str) -> str:
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(digest).decode()


def envelope(body: str) -> bytes:
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope xmlns:env="{ENV}" {namespaces}>'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def fault(subcode: str, reason: str, code: str = "env:Sender") -> bytes:
    return envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode>"
        f"<env:Value>{subcode}</env:Value></env:Subcode></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason></env:Fault>'
    )


def system_date_and_time(now: dt.datetime) -> str:
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
        f"<tt:Second>{now.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month>"
        f"<tt:Day>{now.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def device_information(manufacturer: str, model: str, firmware: str, serial: str) -> str:
    return (
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(manufacturer)}"
        f"</tds:Manufacturer><tds:Model>{escape(model)}</tds:Model><tds:FirmwareVersion>"
        f"{escape(firmware)}</tds:FirmwareVersion><tds:SerialNumber>{escape(serial)}"
        "</tds:SerialNumber><tds:HardwareId>sim-1</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def services(xaddrs: dict[str, str]) -> str:
    """xaddrs: namespace -> XAddr."""
    entries = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{escape(xaddr)}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for ns, xaddr in xaddrs.items()
    )
    return f"<tds:GetServicesResponse>{entries}</tds:GetServicesResponse>"


def capabilities(device_xaddr: str, media_xaddr: str, ptz_xaddr: str | None) -> str:
    ptz = f"<tt:PTZ><tt:XAddr>{escape(ptz_xaddr)}</tt:XAddr></tt:PTZ>" if ptz_xaddr else ""
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{escape(device_xaddr)}</tt:XAddr></tt:Device>"
        f"<tt:Media><tt:XAddr>{escape(media_xaddr)}</tt:XAddr><tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
        "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        f"{ptz}</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


@dataclass(frozen=True)
class SimProfile:
    token: str
    name: str
    width: int
    height: int
    encoding: str = "H264"
    stream_host: str | None = None  # None: the device's stream_host


def profiles(items: tuple[SimProfile, ...], ptz: bool) -> str:
    return (
        "<trt:GetProfilesResponse>"
        + "".join(_profile(item, ptz) for item in items)
        + "</trt:GetProfilesResponse>"
    )


def _profile(item: SimProfile, ptz: bool) -> str:
    ptz_configuration = (
        '<tt:PTZConfiguration token="ptz0"><tt:Name>ptz</tt:Name><tt:UseCount>2</tt:UseCount>'
        "<tt:NodeToken>node0</tt:NodeToken></tt:PTZConfiguration>"
        if ptz
        else ""
    )
    return (
        f'<trt:Profiles token="{item.token}" fixed="true"><tt:Name>{escape(item.name)}</tt:Name>'
        '<tt:VideoSourceConfiguration token="vsc0"><tt:Name>source</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:SourceToken>vs0</tt:SourceToken>"
        '<tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>'
        f'<tt:VideoEncoderConfiguration token="enc-{item.token}"><tt:Name>{item.token}</tt:Name>'
        f"<tt:UseCount>1</tt:UseCount><tt:Encoding>{item.encoding}</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{item.width}</tt:Width><tt:Height>{item.height}</tt:Height>"
        "</tt:Resolution><tt:Quality>5</tt:Quality><tt:Multicast><tt:Address>"
        "<tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
        "<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        f"</tt:VideoEncoderConfiguration>{ptz_configuration}</trt:Profiles>"
    )


def media_uri(operation: str, uri: str) -> str:
    return (
        f"<trt:{operation}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
        f"</trt:MediaUri></trt:{operation}Response>"
    )


def presets(items: tuple[tuple[str, str], ...]) -> str:
    entries = "".join(
        f'<tptz:Preset token="{token}"><tt:Name>{escape(name)}</tt:Name></tptz:Preset>'
        for token, name in items
    )
    return f"<tptz:GetPresetsResponse>{entries}</tptz:GetPresetsResponse>"


GOTO_PRESET = "<tptz:GotoPresetResponse/>"
