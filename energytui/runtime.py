"""Wiring: from a Config to sources, a store and a hub, shared by the TUI and `serve`."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from energytui.clock import AcceleratedClock, Clock
from energytui.config import Config, ConfigError
from energytui.hub import Hub
from energytui.sources.base import Source
from energytui.sources.meter import MeterSource
from energytui.sources.simulated import SimulatedSite, SimulatedSource, SiteSpec

log = logging.getLogger(__name__)


def setup_logging(config: Config, *, to_stderr: bool = False) -> Path | None:
    """Log to a rotating file (the TUI owns the terminal); secrets are never passed to the logger."""
    root = logging.getLogger()
    root.setLevel(config.general.log_level)
    for h in list(root.handlers):
        root.removeHandler(h)
    path = config.general.log_file or (config.data_dir / "energytui.log")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
        path = None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if to_stderr:
        err = logging.StreamHandler()
        err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(err)
    return path


def build_clock(config: Config) -> Clock:
    if config.simulated.accelerate != 1.0 and not config.powerwall.configured:
        return AcceleratedClock(config.simulated.accelerate)
    return Clock()


def build_sources(config: Config, clock: Clock) -> list[Source]:
    sources: list[Source] = []
    if config.powerwall.configured:
        try:
            from energytui.sources.powerwall import PowerwallSource
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError(f"the Powerwall source cannot be loaded ({exc}).") from None
        sources.append(PowerwallSource.from_config(config))
    else:
        sim = config.simulated
        spec = SiteSpec(
            timezone=config.general.timezone,
            solar_peak_w=sim.solar_peak_w,
            battery_kwh=sim.battery_kwh,
            reserve_pct=sim.reserve_pct,
            seed=sim.seed,
        )
        sources.append(
            SimulatedSource(SimulatedSite(spec), clock, interval_s=sim.interval_s, timeout_s=2.0)
        )
    if config.meter.endpoint:
        sources.append(
            MeterSource(
                config.meter.endpoint,
                token=config.meter.token,
                interval_s=config.meter.interval_s,
                timeout_s=config.meter.timeout_s,
            )
        )
    return sources


def open_store(config: Config):
    """Open the store; a second process gets a read-only one (it says so)."""
    from energytui.store import Store, StoreError

    try:
        return Store.open(
            config.store_path,
            raw_retention_days=config.store.raw_retention_days,
            minute_retention_days=config.store.minute_retention_days,
        )
    except StoreError as exc:
        raise ConfigError(str(exc).rstrip(".") + ".") from None


def api_base_url(config: Config) -> str:
    """Where this machine's first instance serves its API (wildcard binds are reached on loopback)."""
    host = config.api.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.api.port}"


def viewer_sources(config: Config) -> list[Source]:
    """Sources for a second instance: read the first one's API, never the gateway again."""
    from energytui.sources.remote import RemoteHubSource, RemoteMeterSource

    url = api_base_url(config)
    interval = config.simulated.interval_s if not config.powerwall.configured else config.powerwall.interval_s
    sources: list[Source] = [
        RemoteHubSource(url, interval_s=max(1.0, interval), timeout_s=5.0, token=config.api.token),
    ]
    # the first instance has meter readings only when it polls an agent or takes the
    # agent's pushes (which need the API token); otherwise a meter line on the viewer
    # would be an error about a meter nobody has
    if config.meter.endpoint or config.api.token:
        sources.append(
            RemoteMeterSource(url, interval_s=config.meter.interval_s, timeout_s=5.0, token=config.api.token)
        )
    return sources


def build_hub(config: Config, *, with_store: bool = True) -> Hub:
    """The hub for this process: the store's writer polls the devices; a second process
    (the store is locked) becomes a viewer of the first through its API."""
    clock = build_clock(config)
    store = open_store(config) if with_store else None
    if store is not None and getattr(store, "readonly", False):
        log.info("store is locked by another energytui: attaching to %s", api_base_url(config))
        sources = viewer_sources(config)
        clock = Clock()
    else:
        sources = build_sources(config, clock)
    return Hub(
        sources,
        store=store,
        clock=clock,
        zone=config.zone,
        history_minutes=max(60, config.tui.spark_minutes),
    )
