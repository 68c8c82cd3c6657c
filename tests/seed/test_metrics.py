"""The seed's seven Prometheus names are in ``/metrics`` beside ours, with its units."""

from __future__ import annotations

import ast
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from devkit.emulator.gateway import raw_from_app
from tests.seed.conftest import Served


def seed_metric_names(seed_dir: Path) -> dict[str, str]:
    """name -> "gauge" | "counter", as the seed's metrics.py declares them."""
    tree = ast.parse((seed_dir / "metrics.py").read_text(encoding="utf-8"))
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Gauge", "Counter"):
            found[node.args[0].value] = node.func.id.lower()  # type: ignore[attr-defined]
    return found


def test_the_seven_names_are_served(served: Served, seed_dir: Path):
    names = seed_metric_names(seed_dir)
    assert len(names) == 7
    text = served.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in names.items():
        family_name = name.removesuffix("_total") if kind == "counter" else name
        assert family_name in families, name
        assert families[family_name].type == kind, name
    values = {s.name: s.value for f in families.values() for s in f.samples}
    assert values["meter_reading_kwh"] == 1314.25 == values["energytui_meter_joules_total"] / 3.6e6
    assert values["energy_readings_total"] >= 3  # power samples and the Pi's readings
    assert values["home_load_watts"] == values["energytui_home_power_watts"]
    assert values["grid_power_watts"] == values["energytui_grid_power_watts"]
    assert values["solar_production_watts"] == values["energytui_solar_power_watts"]
    app_pct = values["energytui_battery_charge_ratio"] * 100
    assert abs(values["battery_level_percent"] - raw_from_app(app_pct)) < 0.02
