"""Fixtures: a real HTTPS gateway emulator on loopback and a real PowerwallSource on pypowerwall.

Shared by the tests of the Powerwall source, the emulator, the devices screen and the hub
(registered in tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.emulator import Emulator
from energytui.clock import ManualClock
from energytui.config import PowerwallConfig
from energytui.sources.powerwall import PowerwallSource

PASSWORD = "s3cret-pw"


@pytest.fixture(autouse=True)
def _quiet_self_signed_tls():
    """pypowerwall talks to our self-signed loopback emulator with verify=False, by design."""
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(host="127.0.0.1", port=0, password=PASSWORD).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def clock() -> ManualClock:
    """The source's gate clock: login back-off and 429 pauses move only when we say."""
    return ManualClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def make_source(emulator: Emulator, tmp_path: Path, clock: ManualClock):
    made: list[PowerwallSource] = []

    def make(*, password: str = PASSWORD, timeout_s: float = 0.6, **kw) -> PowerwallSource:
        cfg = PowerwallConfig(
            host=emulator.host_port,
            password=password,
            interval_s=1.0,
            timeout_s=timeout_s,
            slow_interval_s=5.0,
        )
        src = PowerwallSource(cfg, state_dir=tmp_path / "state", clock=kw.pop("clock", clock), **kw)
        made.append(src)
        return src

    yield make
    for src in made:
        await src.close()


async def warm(src: PowerwallSource) -> None:
    """First poll plus the first slow refresh it starts, so a fault set next hits our poll."""
    await src.poll()
    await src.details()


async def until(
    predicate: Callable[[], bool], *, limit_s: float = 15.0, step_s: float = 0.05
) -> None:
    """Wait for a condition; ``limit_s`` is only a safety net, never the thing under test."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(step_s)


def one_sentence(text: str) -> bool:
    """A user-facing message: one line, ends with a full stop, no traceback, no secret."""
    return (
        "\n" not in text
        and text.endswith(".")
        and "Traceback" not in text
        and PASSWORD not in text
        and text[0].isupper()
    )
