"""An httpx transport for talking to devices: every request's destination is checked against the
network policy (redirects included: the client must not follow them, each hop is a request),
and answers are capped so a hostile device cannot fill our memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from cameras.netguard import DEVICE_SCHEMES, NetworkPolicy, check_destination

MAX_ANSWER_BYTES = 1_000_000  # ONVIF answers are a few kB; a profile list with many presets, tens


class AnswerTooLargeError(Exception):
    """A device's answer passed the cap."""


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, max_bytes: int) -> None:
        self._inner = inner
        self._max_bytes = max_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            total += len(chunk)
            if total > self._max_bytes:
                raise AnswerTooLargeError(f"answer larger than {self._max_bytes} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, policy: NetworkPolicy, *, verify: bool, max_bytes: int = MAX_ANSWER_BYTES
    ) -> None:
        self._policy = policy
        self._max_bytes = max_bytes
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await check_destination(str(request.url), DEVICE_SCHEMES, self._policy)
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, self._max_bytes),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(policy: NetworkPolicy, timeout_s: float, *, verify: bool) -> httpx.AsyncClient:
    """No redirects followed, no proxy from the environment, every hop checked."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, verify=verify),
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
    )
