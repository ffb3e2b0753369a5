"""The SSRF guard: which URLs a camera may have, and where they may lead."""

from __future__ import annotations

import pytest

from cameras.netguard import (
    DEVICE_SCHEMES,
    STREAM_SCHEMES,
    DestinationRefused,
    NetworkPolicy,
    check_destination,
    check_form,
)

LOOPBACK_ONLY = NetworkPolicy.parse(["127.0.0.1/32", "::1/128"])


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.64", True),
        ("100.64.0.9", True),
        ("fd00::5", True),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("8.8.8.8", False),
        ("::ffff:10.0.0.1", True),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:169.254.169.254", False),
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
    ],
)
def test_default_policy_allows_private_camera_networks_only(address: str, allowed: bool) -> None:
    assert NetworkPolicy.default().allows(address) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/dev/video0",
        "exec:id",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "rtsp://",
        "rtsp://user:secret@10.0.0.1/x",
        "rtsp://10.0.0.1/x y",
        "rtsp://10.0.0.1/\x00",
        "rtsp://10.0.0.1:0/x",
        "rtsp://10.0.0.1:70000/x",
        "rtsp://[::1/x",
        "rtsp://10.0.0.1/" + "a" * 3000,
    ],
)
def test_malformed_or_dangerous_forms_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_form(url, STREAM_SCHEMES)
    assert "secret" not in str(refused.value)


def test_allowed_forms_pass() -> None:
    assert check_form("rtsp://10.0.0.1:554/Streaming/101", STREAM_SCHEMES).hostname == "10.0.0.1"
    assert check_form("RTSPS://cam.local/x?channel=1", STREAM_SCHEMES).port is None
    assert check_form("http://10.0.0.1/onvif/device_service", DEVICE_SCHEMES).scheme == "http"
    with pytest.raises(DestinationRefused):
        check_form("http://10.0.0.1/x", STREAM_SCHEMES)


async def test_destination_resolves_names_and_checks_every_address() -> None:
    assert await check_destination("rtsp://localhost:8554/x", STREAM_SCHEMES, LOOPBACK_ONLY) in (
        ["127.0.0.1"], ["::1"], ["127.0.0.1", "::1"], ["::1", "127.0.0.1"],
    )  # fmt: skip
    with pytest.raises(DestinationRefused, match="outside"):
        await check_destination("rtsp://127.0.0.2/x", STREAM_SCHEMES, LOOPBACK_ONLY)
    with pytest.raises(DestinationRefused, match="resolve"):
        await check_destination("rtsp://nothing.invalid/x", STREAM_SCHEMES, LOOPBACK_ONLY)


def test_policy_parse_names_a_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        NetworkPolicy.parse(["10.0.0.0/8", "10.0.0.0/33"])
