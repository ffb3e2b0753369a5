"""Background loops of the hub, kept alive: a loop that crashes is logged and started again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("xueliang.hub.tasks")


class Supervised:
    """Runs `run()` until `stop` is set, restarting it (after a capped, doubling pause) when it
    raises. A bus consumer only returns once `stop` is set, so a return before that is a restart
    too. `running` is what /health reports."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
        *,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.name = name
        self.restarts = 0
        self.running = False
        self._run = run
        self._stop = stop
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def join(self, timeout_s: float) -> None:
        """Wait for the loop to end after `stop` was set; cancel it past `timeout_s`."""
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
        if not done:
            log.warning("%s did not stop within %.0fs: cancelling it", self.name, timeout_s)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        delay, cap = self._backoff
        while not self._stop.is_set():
            self.running = True
            try:
                await self._run()
            except Exception as exc:
                log.error("%s crashed (%s); restarting in %.1fs", self.name, type(exc).__name__,
                          delay, exc_info=exc)  # fmt: skip
            else:
                if self._stop.is_set():
                    break
                log.error("%s returned before stop; restarting in %.1fs", self.name, delay)
            self.running = False
            self.restarts += 1
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, cap)
        self.running = False
