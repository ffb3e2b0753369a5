"""The incidents the engine wrote last, reused while the store still holds that version.

Linking a batch of alerts reads the target incidents' bodies; at thousands of alerts a second
most targets are incidents the previous batches just wrote. The candidate query returns each
incident's stored version, so a body is reused only when its version is still the stored one;
anything else (another hub's write, a route's) is read again. The write that follows is
compare-and-set on the version anyway, so a stale body can never be written over a newer one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from hub.lifecycle import Incident

DEFAULT_SIZE = 4096  # incidents: a few minutes of a busy city's open ones


class RecentIncidents:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        self._items: OrderedDict[str, Incident] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def current(self, versions: Mapping[str, int | None]) -> dict[str, Incident]:
        """Of these incident ids and stored versions, the ones held at exactly that version."""
        found: dict[str, Incident] = {}
        for incident_id, version in versions.items():
            held = self._items.get(incident_id)
            if held is not None and version is not None and held.version == version:
                found[incident_id] = held
                self._items.move_to_end(incident_id)
        return found

    def remember(self, incidents: Iterable[Incident]) -> None:
        """As just written (or read); the least recently used leave beyond the size."""
        for incident in incidents:
            self._items[incident.id] = incident
            self._items.move_to_end(incident.id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
