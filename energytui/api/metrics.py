"""``GET /metrics``: Prometheus exposition built from the hub's cache at scrape time.

A custom collector rather than global gauges, because global gauges keep
exporting the last value after the Powerwall goes away. Here the power, battery
and energy series are only exported while the power source is live;
``energytui_power_stale`` says 1 when they were left out. Energy is exported as
``*_joules_total`` counters (Wh × 3600) from the gateway's lifetime counters,
and a counter is never exported lower than it was on a previous scrape
(Prometheus would take the dip for a reset and count a spike).
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

from energytui import __version__
from energytui.api.views import meter_is_live
from energytui.hub import Hub
from energytui.model import GridStatus

WH_TO_J = 3600.0
KWH_TO_J = 3_600_000.0

#: (metric stem, EnergyCounters field, help)
ENERGY_COUNTERS = (
    ("solar_produced", "solar_produced_wh", "Solar energy produced (gateway lifetime counter)."),
    ("grid_imported", "grid_imported_wh", "Energy imported from the grid."),
    ("grid_exported", "grid_exported_wh", "Energy exported to the grid."),
    ("battery_charged", "battery_charged_wh", "Energy that went into the battery."),
    ("battery_discharged", "battery_discharged_wh", "Energy that came out of the battery."),
    ("home_consumed", "home_consumed_wh", "Energy consumed by the home."),
)


class HubCollector(Collector):
    """Reads the hub on every scrape; never talks to a device."""

    def __init__(self, hub: Hub, *, meter_stale_s: float = 900.0) -> None:
        self.hub = hub
        self.meter_stale_s = meter_stale_s
        self._high: dict[str, float] = {}  # highest value exported per counter
        self._epoch: dict[str, int] = {}  # the epoch that high belongs to
        self._lock = threading.Lock()

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
        if m is not None and meter_is_live(hub, now, self.meter_stale_s):
            yield from self._meter(m)

    def _power(self, s) -> Iterator[Metric]:
        for flow, value, doc in (
            ("solar", s.solar_w, "Solar production, W (>= 0)."),
            ("battery", s.battery_w, "Battery power, W (> 0 discharging, < 0 charging)."),
            ("grid", s.grid_w, "Grid power, W (> 0 importing, < 0 exporting)."),
            ("home", s.load_w, "Home consumption, W (>= 0)."),
        ):
            yield GaugeMetricFamily(f"energytui_{flow}_power_watts", doc, value=value)
        if s.soe_pct is not None:
            yield GaugeMetricFamily(
                "energytui_battery_charge_ratio",
                "Battery state of energy, 0-1.",
                value=s.soe_pct / 100.0,
            )
        if s.reserve_pct is not None:
            yield GaugeMetricFamily(
                "energytui_battery_reserve_ratio",
                "Backup reserve, 0-1.",
                value=s.reserve_pct / 100.0,
            )
        if s.grid_status is not GridStatus.UNKNOWN:
            yield GaugeMetricFamily(
                "energytui_grid_connected",
                "1 when the site is connected to the grid, 0 when islanded or syncing.",
                value=1.0 if s.grid_status is GridStatus.UP else 0.0,
            )
        yield GaugeMetricFamily(
            "energytui_sample_timestamp_seconds",
            "Unix time of the Powerwall sample these series come from.",
            value=s.ts.timestamp(),
        )
        if s.counters is None:
            return
        for stem, field, doc in ENERGY_COUNTERS:
            name = f"energytui_{stem}_joules"
            value = self._monotonic(name, getattr(s.counters, field) * WH_TO_J)
            if value is not None:
                yield CounterMetricFamily(name, doc, value=value)

    def _meter(self, m) -> Iterator[Metric]:
        value = self._monotonic(
            "energytui_meter_joules",
            m.reading_kwh * KWH_TO_J,
            epoch=self.hub.state.meter_corrections,
        )
        if value is not None:
            yield CounterMetricFamily(
                "energytui_meter_joules",
                "Utility meter register read by the camera (lower only when corrected by hand).",
                value=value,
            )
        yield GaugeMetricFamily(
            "energytui_meter_reading_timestamp_seconds",
            "Unix time of the meter reading.",
            value=m.timestamp.timestamp(),
        )
        yield GaugeMetricFamily(
            "energytui_meter_confidence_ratio",
            "OCR confidence of the meter reading, 0-1.",
            value=m.confidence,
        )


def make_registry(hub: Hub, *, meter_stale_s: float = 900.0) -> CollectorRegistry:
    """One registry per app (not the global one), so two apps in one process never mix."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub, meter_stale_s=meter_stale_s))
    return registry
