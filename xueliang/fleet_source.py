"""Where a worker learns the fleet: the hub's `/api/fleet` (enabled cameras, passwords sealed).

Polled rather than pushed: a worker that starts, restarts or loses the bus catches up on its next
read, with no replay logic; a fleet of 10,000 cameras is one small JSON document.
"""

from __future__ import annotations

import httpx
from pydantic import TypeAdapter, ValidationError

from hub.contracts import CameraSpec

_FLEET = TypeAdapter(list[CameraSpec])


class FleetUnavailableError(Exception):
    """The hub could not be asked or gave no usable answer; safe to log."""


class HubFleet:
    def __init__(self, hub_url: str, token: str | None, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=hub_url, headers=headers, timeout=timeout_s)

    async def __call__(self) -> list[CameraSpec]:
        try:
            response = await self._client.get("/api/fleet")
        except httpx.HTTPError as error:
            raise FleetUnavailableError(f"hub unreachable ({type(error).__name__})") from None
        if response.status_code != 200:
            raise FleetUnavailableError(f"hub answered {response.status_code} for /api/fleet")
        try:
            return _FLEET.validate_json(response.content)
        except ValidationError as error:
            count = error.error_count()
            raise FleetUnavailableError(f"hub sent an invalid fleet ({count} errors)") from None

    async def close(self) -> None:
        await self._client.aclose()
