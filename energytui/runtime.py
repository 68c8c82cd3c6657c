"""Wiring and lifecycle: from a Config to sources, a store and a hub, and the one
:class:`Runtime` that starts and stops the hub, the HTTP API and the sinks in one order
for `energytui serve`, the TUI and the kiosk alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import signal
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from energytui.clock import AcceleratedClock, Clock
from energytui.config import Config, ConfigError
from energytui.hub import MAINTAIN_EVERY_S, Hub
from energytui.logdedupe import QuietFileHandler, RepeatFilter
from energytui.sources.base import Source
from energytui.sources.meter import MeterSource
from energytui.sources.simulated import SimulatedSite, SimulatedSource, SiteSpec
from energytui.tariff import Tariff

if TYPE_CHECKING:
    from energytui.serve import ApiHandle
    from energytui.sinks.influx import InfluxSink

log = logging.getLogger(__name__)


def setup_logging(config: Config, *, to_stderr: bool = False) -> Path | None:
    """Log to a rotating file (the TUI owns the terminal); secrets are never passed to the logger.
    Returns the log file, or None where it cannot be written (then nothing is logged)."""
    root = logging.getLogger()
    root.setLevel(config.general.log_level)
    for h in list(root.handlers):
        root.removeHandler(h)
    path = config.general.log_file or (config.data_dir / "energytui.log")
    # one filter for every handler: an error repeated every poll (a full disk) is
    # logged once a minute with a count, on the file and on stderr alike
    repeats = RepeatFilter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = QuietFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(repeats)
    root.addHandler(handler)
    if to_stderr:
        err = logging.StreamHandler()
        err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        err.addFilter(repeats)
        root.addHandler(err)
    # a handler that fails says so in one sentence (QuietFileHandler), never a traceback
    logging.raiseExceptions = False
    return path if isinstance(handler, logging.handlers.RotatingFileHandler) else None


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


def open_store(config: Config, *, flush_interval_s: float = 60.0):
    """Open the store; a second process gets a read-only one (it says so)."""
    from energytui.store import Store, StoreError

    try:
        return Store.open(
            config.store_path,
            raw_retention_days=config.store.raw_retention_days,
            minute_retention_days=config.store.minute_retention_days,
            flush_interval_s=flush_interval_s,
        )
    except StoreError as exc:
        raise ConfigError(str(exc).rstrip(".") + ".") from None


#: for the crash bench only (``bench/crash.py``): fold the journal this often (seconds)
#: instead of once a minute, so that kills land during folds
FOLD_ENV = "ETUI_CRASH_FOLD_EVERY_S"


def _fold_every() -> float:
    try:
        value = float(os.environ.get(FOLD_ENV, "60"))
    except ValueError:
        return 60.0
    return value if 0.05 <= value <= 3600 else 60.0


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
    interval = (
        config.simulated.interval_s
        if not config.powerwall.configured
        else config.powerwall.interval_s
    )
    sources: list[Source] = [
        RemoteHubSource(url, interval_s=max(1.0, interval), timeout_s=5.0, token=config.api.token),
    ]
    # the first instance has meter readings only when it polls an agent or takes the
    # agent's pushes (which need the API token); otherwise a meter line on the viewer
    # would be an error about a meter nobody has
    if config.meter.endpoint or config.api.token:
        sources.append(
            RemoteMeterSource(
                url, interval_s=config.meter.interval_s, timeout_s=5.0, token=config.api.token
            )
        )
    return sources


def build_hub(config: Config, *, with_store: bool = True, attach: bool = True) -> Hub:
    """The hub for this process.

    The store's writer polls the devices. When another process writes the store, a
    TUI (``attach``) becomes a viewer of that one through its API; `serve` never
    attaches (it would be attaching to its own URL when the other serves elsewhere).
    A store that takes no writes (a read-only or full disk, another writer and no
    attaching) does not stop the monitoring: the hub polls and serves live data,
    says why in one sentence (``store_error``: every screen and ``/health``), and
    tries the store again every 30 s. A build without the store package runs
    without one, and says so in the log."""
    clock = build_clock(config)
    store = None
    note: str | None = None
    opener: Callable[[], object] | None = None
    fold_s = _fold_every()
    if with_store:
        try:
            store = open_store(config, flush_interval_s=fold_s)
        except ImportError as exc:  # a build without the store package (or one half installed)
            if "energytui.store" not in f"{exc.name} {exc}":
                raise
            log.warning("the store is not available in this build; nothing will be recorded")
        except ConfigError as exc:  # e.g. the data directory cannot be created (read-only)
            note = str(exc)
        else:
            if store is not None and store.readonly:
                note = store.readonly_reason
        if note is not None or store is not None:
            opener = partial(open_store, config, flush_interval_s=fold_s)
    if store is not None and store.readonly and attach and store.writer_elsewhere:
        log.info("store is locked by another energytui: attaching to %s", api_base_url(config))
        sources = viewer_sources(config)
        clock = Clock()
        opener = None
        note = None
    else:
        sources = build_sources(config, clock)
    if note is not None:
        note = (
            f"Not storing readings: {note.replace('; opened read-only', '').rstrip('.')};"
            " showing live data and trying again every 30 s."
        )
        log.warning("%s", note)
    hub = Hub(
        sources,
        store=store,
        clock=clock,
        zone=config.zone,
        history_minutes=max(60, config.tui.spark_minutes),
        meter_limits=config.meter.limits,
        store_opener=opener,
        store_note=note,
        maintain_every_s=min(MAINTAIN_EVERY_S, fold_s),
    )
    hub.energy.tariff = Tariff.from_config(config.tariff)  # today's cost on the dashboard
    return hub


def on_signals(
    signals: Iterable[signal.Signals], callback: Callable[[], object]
) -> Callable[[], None]:
    """Call ``callback`` on the running loop when one of ``signals`` arrives; returns the undo.

    Where a loop cannot take signal handlers (not the main thread, or Windows) nothing is
    installed: the caller then stops the way it would without them.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, callback)
            installed.append(sig)

    def undo() -> None:
        for sig in installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    return undo


class Sink(Protocol):
    """What the runtime needs of a sink: it subscribes to the hub on ``start`` and
    flushes what it can, within its own time bound, on ``stop``."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ApiDown:
    """The API that could not start, as a status the hub shows on the health line (a
    :class:`~energytui.view.SinkReport`): the warning toast fades, this does not."""

    text: str
    state: str = "error"
    points_pending: int = 0

    def line(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "enabled": False, "last_error": self.text}


class Runtime:
    """Starts and stops one process's parts in one order: the API socket is bound first,
    then the hub starts, then the API serves from it, then the sinks publish from it;
    :meth:`stop` ends them in the reverse order.

    ``headless`` is `energytui serve` (see :meth:`open`), which exists to serve: a port it
    cannot listen on is an error (:class:`~energytui.serve.ApiStartError`), and it serves
    whatever its hub shows. The TUI and the kiosk are not headless: they keep running with
    a warning when the port is busy, and serve the API and the sinks only as the store's
    writer (a viewer leaves them to the first instance, whose data it shows).

    Problems that do not stop the process are kept in :attr:`warnings`, one sentence each:
    the TUI shows them as toasts and `serve` prints them.
    """

    def __init__(
        self,
        config: Config,
        hub: Hub,
        *,
        headless: bool = False,
        serve_api: bool = True,
        api_socket: socket.socket | None = None,
    ) -> None:
        self.config = config
        self.hub = hub
        self.headless = headless
        self.serve_api = serve_api and config.api.enabled
        self.warnings: list[str] = []
        self.api: ApiHandle | None = None
        self.sinks: list[Sink] = []
        #: the InfluxDB writer, when configured: its status is shown on the health line
        self.influx: InfluxSink | None = None
        #: undo the hub's registration of the sinks' status calls (see _start_sinks)
        self._unregister: list[Callable[[], None]] = []
        self._socket = api_socket
        self._owns_hub = False

    @classmethod
    def open(cls, config: Config) -> Runtime:
        """The headless runtime of `energytui serve`. The API socket is bound before the
        hub is built (which locks the store), let alone started (which logs in to the
        gateway), so a port in use costs neither: it raises
        :class:`~energytui.serve.ApiStartError` here."""
        from energytui.serve import bind_socket

        sock = bind_socket(config.api.host, config.api.port) if config.api.enabled else None
        try:
            hub = build_hub(config, attach=False)  # serve polls itself; it never attaches
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        rt = cls(config, hub, headless=True, api_socket=sock)
        rt._owns_hub = True  # built here: stop() closes its store even if it never started
        return rt

    @property
    def publishes(self) -> bool:
        """Whether this process serves the API and runs the sinks (see the class docs)."""
        if self.headless:
            return True
        store = self.hub.store
        return store is not None and not getattr(store, "readonly", False)

    async def start(self) -> None:
        """Start everything in order. An error (headless, one is an API that cannot
        listen) first stops what had started, then propagates."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        publishes = self.publishes
        if publishes and self.serve_api and self._socket is None:
            self._socket = self._bind()
        self._owns_hub = True
        await self.hub.start()
        if not publishes:
            return
        if self._socket is not None:
            sock, self._socket = self._socket, None
            self.api = await self._serve(sock)
        self._start_sinks()

    async def stop(self) -> None:
        """Stop the sinks, then the API, then the hub (which closes the store). Safe to call
        again, and after a start that failed half-way."""
        while self._unregister:  # a stopped sink is no longer on the health line
            self._unregister.pop()()
        self.influx = None
        while self.sinks:
            sink = self.sinks.pop()
            with contextlib.suppress(Exception):
                # a sink flushes within a bound on stop: off the loop, so the API and
                # the hub keep answering meanwhile
                await asyncio.to_thread(sink.stop)
        if self.api is not None:
            api, self.api = self.api, None
            await api.stop()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._owns_hub:
            self._owns_hub = False
            await self.hub.stop()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the parts ---------------------------------------------------------------------
    def _bind(self) -> socket.socket | None:
        from energytui.serve import SERVE_PORT_SETTING, TUI_PORT_SETTING, bind_socket

        setting = SERVE_PORT_SETTING if self.headless else TUI_PORT_SETTING
        try:
            return bind_socket(self.config.api.host, self.config.api.port, setting=setting)
        except Exception as exc:  # headless, an ApiStartError; in the TUI a busy port is a warning
            if self.headless:
                raise
            self._api_not_started(exc)
            return None

    async def _serve(self, sock: socket.socket) -> ApiHandle | None:
        from energytui.serve import serve_api_on

        try:
            return await serve_api_on(self.hub, self.config, sock)
        except Exception as exc:
            if self.headless:
                raise
            self._api_not_started(exc)
            return None

    def _api_not_started(self, exc: Exception) -> None:
        self.warnings.append(f"HTTP API not started: {exc}")
        # the toast goes away; the health line keeps saying it while the app runs
        down = ApiDown(f"HTTP API off: {str(exc).rstrip('.')}")
        self._unregister.append(self.hub.add_status_source("api", lambda: down))

    def _start_sinks(self) -> None:
        if self.config.mqtt.enabled:
            try:
                from energytui.sinks.mqtt import MqttSink

                sink = MqttSink(
                    self.hub, self.config.mqtt, meter_stale_s=self.config.api.meter_stale_s
                )
                sink.start()
            except Exception as exc:  # a sink must not stop the monitor
                self.warnings.append(f"MQTT publisher not started: {exc}")
            else:
                self.sinks.append(sink)
        if self.config.influxdb.enabled:
            from energytui.sinks.influx import InfluxSink, spool_dir

            influx = InfluxSink(self.hub, self.config.influxdb, spool_dir(self.config))
            influx.start()  # never raises: a spool it cannot open is its status's error
            status = influx.status()
            if status.state == "stopped":
                self.warnings.append(f"InfluxDB writer not started: {status.last_error}")
            else:
                self.sinks.append(influx)
                self.influx = influx
                self._unregister.append(self.hub.add_status_source("influxdb", influx.status))
