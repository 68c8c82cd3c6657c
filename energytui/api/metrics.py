"""``GET /metrics``: Prometheus exposition built from the hub's cache at scrape time.

A custom collector rather than global gauges, because global gauges keep
exporting the last value after the Powerwall goes away. Here the power, battery
and energy series are only exported while the power source is live;
``energytui_power_stale`` says 1 when they were left out. Energy is exported as
``*_joules_total`` counters (Wh × 3600) from the gateway's lifetime counters,
and a counter is never exported lower than it was on a previous scrape
(Prometheus would take the dip for a reset and count a spike). Which series a
sample or a meter reading gives, their names, help and values, is the wire
table's (:mod:`energytui.wire.table`).

The original Flask API's seven names are here too, with its meaning and units: the
gauges ``solar_production_watts``, ``battery_level_percent`` (the gateway's scale, as
pypowerwall ``level()``), ``grid_power_watts`` (> 0 imports), ``home_load_watts`` and
``meter_reading_kwh`` (from the wire table's seed column, left out while not live as
ours are), and two counters it declared without defining: ``energy_readings_total``
counts the readings the hub accepted (power samples and meter readings) since start,
``api_errors_total`` the HTTP requests answered with a 5xx status (a 503 while the
Powerwall is not live, or a 500).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from energytui import __version__
from energytui.api.views import meter_is_live
from energytui.hub import Hub, HubEvent, SampleEvent
from energytui.model import PowerSample
from energytui.wire import seed as wire_seed
from energytui.wire.columns import Metric as WireMetric
from energytui.wire.prometheus import series
from energytui.wire.table import COUNTERS, METER, POWER, SAMPLE_TIME
from meter_agent.schema import MeterReading


class ServerErrors:
    """Counts the API's answers with a 5xx status (``api_errors_total``).

    ``middleware`` is an ASGI middleware class bound to this counter (for
    ``app.add_middleware``); an exception that escapes a route counts too, since the
    app answers it with a 500.
    """

    def __init__(self) -> None:
        self.count = 0
        counter = self

        class _Middleware:
            def __init__(self, app: ASGIApp) -> None:
                self.app = app

            async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return

                async def watch(message: Message) -> None:
                    if message["type"] == "http.response.start" and message["status"] >= 500:
                        counter.count += 1
                    await send(message)

                try:
                    await self.app(scope, receive, watch)
                except Exception:
                    counter.count += 1
                    raise

        self.middleware = _Middleware


class HubCollector(Collector):
    """Reads the hub on every scrape; never talks to a device."""

    def __init__(
        self,
        hub: Hub,
        *,
        meter_stale_s: float = 900.0,
        server_errors: ServerErrors | None = None,
    ) -> None:
        self.hub = hub
        self.meter_stale_s = meter_stale_s
        self.server_errors = server_errors or ServerErrors()
        self.readings = 0  # readings the hub accepted since this collector was made
        hub.subscribe(self._on_event)
        self._high: dict[str, float] = {}  # highest value exported per counter
        self._epoch: dict[str, int] = {}  # the epoch that high belongs to
        self._lock = threading.Lock()

    def _on_event(self, event: HubEvent) -> None:
        if isinstance(event, SampleEvent):
            self.readings += 1

    def describe(self) -> Iterator[Metric]:
        return iter(())  # unchecked collector: describe must not read the hub at registration

    def _monotonic(self, name: str, value: float, epoch: int = 0) -> float | None:
        """The value, or None if it is lower than one already exported in the same
        ``epoch`` (a meter corrected by hand starts a new one: Prometheus takes its dip
        for the counter reset it is)."""
        with self._lock:
            if self._epoch.get(name, epoch) == epoch and value < self._high.get(
                name, float("-inf")
            ):
                return None
            self._high[name] = value
            self._epoch[name] = epoch
            return value

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        now = hub.clock.now()
        power_src = hub.power_source
        info = InfoMetricFamily("energytui", "energytui build and wiring.")
        info.add_metric(
            [],
            {
                "version": __version__,
                "power_source": "" if power_src is None else power_src.name,
                "store": "none" if hub.store is None else "enabled",
            },
        )
        yield info

        up = GaugeMetricFamily(
            "energytui_source_up",
            "1 when the source's last poll succeeded recently.",
            labels=["source", "kind"],
        )
        last_ok = GaugeMetricFamily(
            "energytui_source_last_success_timestamp_seconds",
            "Unix time of the source's last successful poll.",
            labels=["source"],
        )
        errors = GaugeMetricFamily(
            "energytui_source_consecutive_errors",
            "Polls that failed in a row.",
            labels=["source"],
        )
        latency = GaugeMetricFamily(
            "energytui_source_latency_seconds",
            "Duration of the last successful poll.",
            labels=["source"],
        )
        for name, h in hub.health.items():
            up.add_metric([name, h.kind], 1.0 if hub.is_live(name) else 0.0)
            errors.add_metric([name], float(h.consecutive_errors))
            if h.last_success is not None:
                last_ok.add_metric([name], h.last_success.timestamp())
            if h.latency_ms is not None:
                latency.add_metric([name], h.latency_ms / 1000.0)
        yield from (up, last_ok, errors, latency)

        live = hub.power_is_live
        s = hub.latest_power
        yield GaugeMetricFamily(
            "energytui_power_stale",
            "1 when the Powerwall data is not live and its series are left out.",
            value=0.0 if live and s is not None else 1.0,
        )
        if live and s is not None:
            yield from self._power(s)
        m = hub.latest_meter
        meter_live = m is not None and meter_is_live(hub, now, self.meter_stale_s)
        if m is not None and meter_live:
            yield from self._meter(m)
        yield from self._seed(s if live else None, m if meter_live else None)

    def _seed(self, s: PowerSample | None, m: MeterReading | None) -> Iterator[Metric]:
        """The original Flask API's seven names (module docstring)."""
        for name, help_, value in wire_seed.gauges(s, m):
            yield GaugeMetricFamily(name, help_, value=value)
        yield CounterMetricFamily(
            "energy_readings",
            "Readings accepted by the hub (power samples and meter readings) since start.",
            value=self.readings,
        )
        yield CounterMetricFamily(
            "api_errors",
            "HTTP requests answered with a 5xx status (503 while the Powerwall is not live).",
            value=self.server_errors.count,
        )

    def _family(self, metric: WireMetric, value: float, epoch: int = 0) -> Metric | None:
        """A gauge, or a counter unless it would go lower than one already exported."""
        if metric.kind == "gauge":
            return GaugeMetricFamily(metric.name, metric.help, value=value)
        kept = self._monotonic(metric.name, value, epoch)
        return None if kept is None else CounterMetricFamily(metric.name, metric.help, value=kept)

    def _families(
        self, found: Iterator[tuple[WireMetric, float]], epoch: int = 0
    ) -> Iterator[Metric]:
        for metric, value in found:
            family = self._family(metric, value, epoch)
            if family is not None:
                yield family

    def _power(self, s: PowerSample) -> Iterator[Metric]:
        yield from self._families(series((*POWER, SAMPLE_TIME), s))
        if s.counters is not None:
            yield from self._families(series(COUNTERS, s.counters))

    def _meter(self, m: MeterReading) -> Iterator[Metric]:
        # a meter corrected by hand starts a new epoch: its dip is the reset it is
        yield from self._families(series(METER, m), epoch=self.hub.state.meter_corrections)


def make_registry(
    hub: Hub, *, meter_stale_s: float = 900.0, server_errors: ServerErrors | None = None
) -> CollectorRegistry:
    """One registry per app (not the global one), so two apps in one process never mix."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub, meter_stale_s=meter_stale_s, server_errors=server_errors))
    return registry
