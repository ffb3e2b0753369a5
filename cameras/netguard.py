"""Where the platform may connect on a camera's behalf: an SSRF guard for camera URLs.

A camera URL is a request the server makes for whoever registered it, and an ONVIF device answers
with more URLs (stream, snapshot) that are just as untrusted. Every such URL passes two checks:
its form (`check_form`: allowed schemes only, no credentials, no options smuggled to FFmpeg) and
its destination (`check_destination`: every address the host resolves to lies in the allowed
networks). Messages never echo the URL's credentials.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from cameras.urls import redact_url

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

STREAM_SCHEMES = frozenset({"rtsp", "rtsps"})
DEVICE_SCHEMES = frozenset({"http", "https"})  # ONVIF services and snapshot URIs
MAX_URL_CHARS = 2048
# Private camera networks (RFC 1918, carrier-grade NAT, IPv6 unique local). Loopback, link-local
# (cloud metadata at 169.254.169.254) and public addresses need an explicit setting.
DEFAULT_ALLOWED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


class DestinationRefused(ValueError):  # noqa: N818 (a refusal, not a bug)
    """A camera URL is malformed or leads outside the allowed networks; safe to show and log."""


@dataclass(frozen=True)
class NetworkPolicy:
    allowed: tuple[IpNetwork, ...]

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> NetworkPolicy:
        """`["10.0.0.0/8", "127.0.0.1/32"]`; raises ValueError naming a bad entry."""
        networks = []
        for text in cidrs:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not a network (CIDR): {text!r}") from None
        return cls(tuple(networks))

    @classmethod
    def default(cls) -> NetworkPolicy:
        return cls.parse(DEFAULT_ALLOWED)

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        return any(ip.version == net.version and ip in net for net in self.allowed)


def check_form(url: str, schemes: frozenset[str]) -> SplitResult:
    """The URL's form alone (no I/O): scheme allowed, a host, no credentials in it, printable.

    Credentials travel in their own fields, never inside a URL, so that no URL is a secret."""
    if len(url) > MAX_URL_CHARS:
        raise DestinationRefused(f"URL longer than {MAX_URL_CHARS} characters")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise DestinationRefused("URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused("URL is malformed (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise DestinationRefused(f"URL scheme {scheme or '(none)'!r} not allowed: use {allowed}")
    if "@" in parts.netloc:
        raise DestinationRefused(
            f"credentials inside the URL ({redact_url(url)}): give username and password apart"
        )
    if not parts.hostname:
        raise DestinationRefused("URL has no host")
    if port == 0:
        raise DestinationRefused("URL port 0 is not allowed")
    return parts


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (numeric hosts resolve to themselves)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DestinationRefused(f"host {host!r} does not resolve") from None
    return sorted({str(info[4][0]) for info in infos})


async def check_destination(
    url: str, schemes: frozenset[str], policy: NetworkPolicy
) -> list[str]:
    """Form, then destination: every address the host resolves to must be allowed (a name that
    resolves to one allowed and one forbidden address is refused). Returns the addresses."""
    parts = check_form(url, schemes)
    host = parts.hostname or ""
    default_port = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
    addresses = await resolve(host, parts.port or default_port.get(parts.scheme.lower(), 0))
    refused = [address for address in addresses if not policy.allows(address)]
    if refused or not addresses:
        raise DestinationRefused(
            f"host {host!r} ({', '.join(refused or addresses)}) is outside the allowed camera "
            "networks (XUELIANG_CAMERA_NETWORKS)"
        )
    return addresses
