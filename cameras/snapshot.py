"""Snapshot images from a camera's snapshot URI: one bounded HTTP GET with digest auth, through
the network policy, every failure an `OnvifError` safe to log (the URL redacted)."""

from __future__ import annotations

import asyncio

import httpx

from cameras.netguard import DEVICE_SCHEMES, NetworkPolicy
from cameras.onvif_model import OnvifError, Reason, checked_destination
from cameras.urls import redact_url


async def fetch_snapshot(
    uri: str, username: str, password: str, *, policy: NetworkPolicy, timeout_s: float = 5.0,
    max_bytes: int = 10_000_000,
) -> bytes:  # fmt: skip
    """One JPEG from a snapshot URI (HTTP digest auth; redirects are not followed: they could
    lead outside the allowed networks). Raises OnvifError."""
    await checked_destination(uri, DEVICE_SCHEMES, policy)
    where = f"snapshot {redact_url(uri)}"
    try:
        async with asyncio.timeout(timeout_s), httpx.AsyncClient(
            auth=httpx.DigestAuth(username, password), timeout=timeout_s, trust_env=False,
            follow_redirects=False,
        ) as client, client.stream("GET", uri) as response:  # fmt: skip
            _check_status(response.status_code, where)
            body = await _read_bounded(response, max_bytes, where)
    except OnvifError:
        raise
    except Exception as error:  # all of it becomes a classified OnvifError
        reason = _classify_http(error)
        message = f"{where}: {_describe_http(reason, error, timeout_s)}"
        raise OnvifError(reason, message) from None
    if not body.startswith(b"\xff\xd8"):
        raise OnvifError("invalid_response", f"{where}: not a JPEG image")
    return body


def _check_status(status: int, where: str) -> None:
    if status in (401, 403):
        raise OnvifError("bad_credentials", f"{where}: the device refused the credentials")
    if status in (404, 405, 501):
        raise OnvifError("unsupported", f"{where}: HTTP {status}")
    if status != 200:
        raise OnvifError("invalid_response", f"{where}: HTTP {status} (redirects not followed)")


async def _read_bounded(response: httpx.Response, max_bytes: int, where: str) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise OnvifError("invalid_response", f"{where}: larger than {max_bytes} bytes")
    return bytes(body)


def _classify_http(error: BaseException) -> Reason:
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.NetworkError | OSError):
        return "unreachable"
    return "invalid_response"


def _describe_http(reason: Reason, error: BaseException, timeout_s: float) -> str:
    if reason == "timeout":
        return f"no answer to GET within {timeout_s:g} s"
    if reason == "unreachable":
        return f"cannot connect ({type(error).__name__})"
    return f"unreadable answer to GET ({type(error).__name__})"
