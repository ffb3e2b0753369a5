"""Webhook sink: each outbox entry POSTed as JSON to one URL, signed with HMAC-SHA256.

The signature covers `f"{timestamp}.{body}"`, so a receiver can check both the origin and the
age of a request (and reject replays); `X-Xueliang-Event-Id` is the outbox id, for deduplication
(delivery is at least once). `sign` and `verify` are pure: integrators' receivers may copy them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from hub.outbound import DeliveryError
from hub.outbox import OutboxEntry

EVENT_ID_HEADER = "X-Xueliang-Event-Id"
SIGNATURE_HEADER = "X-Xueliang-Signature"
TIMESTAMP_HEADER = "X-Xueliang-Timestamp"
MIN_SECRET_CHARS = 16
# Retrying these may help (the receiver is busy or slow); other 4xx need a configuration fix.
TRANSIENT_4XX = frozenset({408, 425, 429})


def sign(secret: str, timestamp_s: int, body: str) -> str:
    """The signature header's value: `sha256=<hex HMAC-SHA256 of "timestamp.body">`."""
    signed = f"{timestamp_s}.{body}".encode()
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, body: str, signature: str, now_s: float, tolerance_s: float = 300
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within `tolerance_s`."""
    try:
        timestamp_s = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - timestamp_s) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp_s, body), signature)


def safe_target(url: str) -> str:
    """The URL as logs may show it: scheme, host and port (no user, path or query: tokens)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def check_webhook(url: str, secret: str, timeout_s: float) -> None:
    """Raise ValueError (naming no secret) when the webhook settings cannot work."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ValueError("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise ValueError("the webhook URL must not carry a user or password (it is signed)")
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"the webhook secret must have at least {MIN_SECRET_CHARS} characters")
    if not timeout_s > 0:
        raise ValueError("the webhook timeout must be positive")


class WebhookSink:
    """POSTs entries to `url`; a 2xx answer is success, anything else raises DeliveryError.

    Redirects are not followed (a signed body must not wander to another host) and the answer's
    body is never read (it cannot reach a log, and a huge one costs nothing).
    """

    def __init__(
        self,
        url: str,
        secret: str,
        timeout_s: float = 10.0,
        *,
        name: str = "webhook",
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        check_webhook(url, secret, timeout_s)
        self.name = name
        self.target = safe_target(url)
        self._url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._clock = clock
        # trust_env=False: no proxy from the environment and no .netrc credentials added.
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False, transport=transport
        )

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r}, target={self.target!r})"

    def headers(self, entry: OutboxEntry) -> dict[str, str]:
        timestamp_s = int(self._clock())
        return {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: str(entry.id),
            TIMESTAMP_HEADER: str(timestamp_s),
            SIGNATURE_HEADER: sign(self._secret, timestamp_s, entry.body),
        }

    async def deliver(self, entry: OutboxEntry) -> None:
        request = self._client.build_request(
            "POST", self._url, content=entry.body.encode(), headers=self.headers(entry)
        )
        try:
            response = await self._client.send(request, stream=True)
            await response.aclose()
        except httpx.TimeoutException:
            raise DeliveryError(
                f"webhook {self.target} timed out after {self._timeout_s:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"webhook {self.target} unreachable ({type(error).__name__})"
            ) from None
        raise_for_status(self.target, response.status_code)

    async def aclose(self) -> None:
        await self._client.aclose()


def raise_for_status(target: str, status: int) -> None:
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise DeliveryError(
            f"webhook {target} answered HTTP {status}, a redirect: not followed "
            "(configure the final URL)",
            permanent=True,
        )
    permanent = 400 <= status < 500 and status not in TRANSIENT_4XX
    raise DeliveryError(f"webhook {target} answered HTTP {status}", permanent=permanent)
