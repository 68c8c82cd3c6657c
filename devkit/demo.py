"""A deterministic demo app: the simulated site on a frozen clock, with history.

Used by the snapshot tests and `make screenshots`, so that what we look at in
screenshots/ is exactly what the tests pin.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from energytui.clock import ManualClock
from energytui.config import Config, load_config
from energytui.hub import Hub
from energytui.sources.simulated import SimulatedSite, SimulatedSource, SiteSpec
from energytui.tui.app import EnergyApp

DEMO_START = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)


def demo_hub(
    *,
    at: datetime = DEMO_START,
    history_s: int = 8 * 3600,
    zone: str = "Europe/Berlin",
    interval_s: float = 999.0,
) -> tuple[Hub, SimulatedSource, ManualClock]:
    """A hub over the simulated site whose history was filled up to ``at``."""
    from datetime import timedelta

    clock = ManualClock(at - timedelta(seconds=history_s))
    site = SimulatedSite(SiteSpec(timezone=zone))
    src = SimulatedSource(site, clock, interval_s=interval_s)
    cfg_zone = __import__("zoneinfo").ZoneInfo(zone)
    hub = Hub([src], clock=clock, zone=cfg_zone)
    # keep the whole demo history in memory (the hub sizes it by the poll interval)
    hub.state.history = deque(maxlen=history_s // 5)
    for _ in range(history_s // 5 - 1):
        clock.advance(5)
        s = site.advance(clock.now())
        hub.state.history.append(s)
        hub.energy.add(s)
    clock.advance(5)
    return hub, src, clock


def demo_config(**tui) -> Config:
    return load_config(
        environ={"TIMEZONE": "Europe/Berlin"}, overrides={"tui": tui} if tui else None
    )


def demo_app(**tui) -> EnergyApp:
    hub, _, _ = demo_hub()
    return EnergyApp(demo_config(**tui), hub)
