"""uvicorn's server, waking once a second while idle instead of ten times.

Why: between readings the agent has nothing to do, yet uvicorn's main loop sleeps 0.1 s
at a time to look at its exit flag and refresh the ``Date`` header once a second. Those
ten wake-ups a second were the agent's whole CPU use at rest (``python -m bench.agent``);
on a Pi every wake-up costs several times what it costs on a desktop. Here the loop waits
a second at a time, and a stop signal wakes it at once, so neither the ``Date`` header
(one-second resolution anyway) nor a systemd stop is any slower.

Imported only by ``meter-agent serve``, so the reading tools never load uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

#: how long the idle server sleeps between looks at its exit flag and the clock
TICK_S = 1.0

# uvicorn's on_tick refreshes the Date header when its counter is a multiple of 10, and
# the counter wraps at this (one day of 0.1 s ticks)
_TICKS_PER_REFRESH = 10
_COUNTER_WRAP = 864000


class QuietServer(uvicorn.Server):
    """A :class:`uvicorn.Server` whose idle loop ticks every :data:`TICK_S` seconds."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + _TICKS_PER_REFRESH) % _COUNTER_WRAP
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            self._wake.clear()
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGINT/SIGTERM: uvicorn's flag, and a wake-up so the loop sees it now."""
        super().handle_exit(sig, frame)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
