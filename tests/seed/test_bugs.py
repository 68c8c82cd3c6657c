"""The seed's read-API bugs (../shared/seed/README.md), each pinned by a test that fails on
the seed's behaviour.

Where the seed's answer comes from a pure piece of its app.py (a helper, an inline
expression), that piece is taken from the seed's own file and run on the same numbers,
so each test shows the seed's answer next to ours.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from energytui.config import Config
from energytui.hub import Hub
from energytui.model import GridStatus, PowerSample
from energytui.store import Store
from meter_agent.schema import MeterReading
from tests.hub_support import ScriptedSource, api_client, sample, wait_for
from tests.seed.seed_files import SeedApp


def seed_function(app: SeedApp, name: str) -> Any:
    """One of the seed's pure functions, compiled from its own source."""
    module = ast.Module(body=[app.function(name)], type_ignores=[])
    namespace: dict[str, Any] = {}
    exec(compile(module, "seed app.py", "exec"), namespace)  # the seed's own code, on numbers
    return namespace[name]


def seed_leaf(app: SeedApp, path: tuple[str, ...], pw_data: dict) -> Any:
    """The value the seed's ``/current_readings`` computes at ``path`` from ``pw_data``."""
    node: Any = app.body("get_current_readings", 1)
    for key in path:
        node = node[key]
    return eval(compile(ast.Expression(node), "seed app.py", "eval"), {"pw_data": pw_data})


def pw_data(s: PowerSample, grid_status: str = "UP") -> dict:
    """The seed's readings dict for a sample; ``grid_status`` as pypowerwall says it."""
    return {
        "solar_power_watts": s.solar_w,
        "battery_power_watts": s.battery_w,
        "grid_power_watts": s.grid_w,
        "load_power_watts": s.load_w,
        "battery_level_percent": 50.0,
        "grid_status": grid_status,
    }


async def current(s: PowerSample) -> dict:
    hub = Hub([ScriptedSource(s)])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub) as c:
            r = await c.get("/current_readings")
    finally:
        await hub.stop()
    assert r.status_code == 200
    return r.json()


def says_tesla_signs(text: str) -> bool:
    return "grid > 0 imports" in text and "battery > 0 discharges" in text


async def test_net_flow_description_has_tesla_signs(seed_app: SeedApp):
    body = await current(sample(grid_w=800.0, battery_w=0.0, solar_w=0.0, load_w=800.0))
    assert says_tesla_signs(body["net_flow"]["description"])
    seed_text = seed_app.returned("calculate_net_flow")["description"].value
    assert not says_tesla_signs(seed_text)  # "positive=grid export, negative=grid import"


@pytest.mark.parametrize(("battery_w", "word"), [(1500.0, "discharging"), (-1500.0, "charging")])
async def test_battery_status_follows_tesla_signs(seed_app: SeedApp, battery_w, word):
    s = sample(battery_w=battery_w, solar_w=0.0, grid_w=500.0, load_w=500.0 + battery_w)
    body = await current(s)
    assert body["powerwall"]["battery"]["status"] == word
    assert seed_leaf(seed_app, ("powerwall", "battery", "status"), pw_data(s)) != word


@pytest.mark.parametrize(
    ("flows", "mode", "seeds"),
    [
        # strong sun, battery discharging into the home: the seed said it charges
        ({"solar_w": 2500.0, "battery_w": 1500.0, "grid_w": 800.0, "load_w": 4800.0},
         "solar_powering_home", "solar_charging_battery"),
        # no sun, the grid charging the battery: the seed said the battery feeds the home
        ({"solar_w": 0.0, "battery_w": -2000.0, "grid_w": 2500.0, "load_w": 500.0},
         "grid_powered", "drawing_from_battery"),
        # strong sun charging the battery: the seed missed it
        ({"solar_w": 3000.0, "battery_w": -2000.0, "grid_w": 0.0, "load_w": 1000.0},
         "solar_charging_battery", "solar_powering_home"),
    ],
)  # fmt: skip
async def test_mode_words_follow_tesla_signs(seed_app: SeedApp, flows, mode, seeds):
    s = sample(**flows)
    body = await current(s)
    assert body["system_summary"]["mode"] == mode
    assert seed_function(seed_app, "_get_system_mode")(pw_data(s), {}) == seeds


async def test_grid_tied_is_true_while_connected(seed_app: SeedApp):
    s = sample(grid_status=GridStatus.UP)
    body = await current(s)
    assert body["system_summary"]["grid_tied"] is True
    assert body["powerwall"]["grid"]["status"] == "UP"
    assert seed_leaf(seed_app, ("system_summary", "grid_tied"), pw_data(s, "UP")) is False
    islanded = await current(sample(grid_status=GridStatus.DOWN))
    assert islanded["system_summary"]["grid_tied"] is False


async def test_efficiency_is_the_share_of_solar_used_on_site(seed_app: SeedApp):
    # 4 kW of sun: 1 kW to the home, 2 kW into the battery, 1 kW exported
    s = sample(solar_w=4000.0, battery_w=-2000.0, grid_w=-1000.0, load_w=1000.0)
    body = await current(s)
    assert body["system_summary"]["efficiency"] == 75.0
    assert seed_function(seed_app, "_calculate_efficiency")(pw_data(s)) == 25.0
    night = await current(sample(solar_w=0.0, battery_w=500.0, grid_w=0.0, load_w=500.0))
    assert night["system_summary"]["efficiency"] == 0.0  # no production: 0, as the seed's


async def test_powerwall_status_is_never_frozen():
    """The seed's ``lru_cache`` on the readings kept the first answer forever."""
    src = ScriptedSource(sample(solar_w=1000.0))
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub) as c:
            first = (await c.get("/powerwall/status")).json()
            src.next = src.next.with_(solar_w=2345.0, load_w=2345.0)
            await wait_for(lambda: getattr(hub.latest_power, "solar_w", None) == 2345.0)
            second = (await c.get("/powerwall/status")).json()
    finally:
        await hub.stop()
    assert first["solar_power_watts"] == 1000.0
    assert second["solar_power_watts"] == 2345.0


def reading(kwh: float, minutes_ago: float, rid: str) -> MeterReading:
    return MeterReading(
        reading_kwh=kwh,
        timestamp=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        confidence=0.95,
        method="camera_ocr",
        id=rid,
    )


async def test_history_meter_is_every_reading_of_the_days_asked(tmp_path):
    """No ``min(96, days * 24)`` cap: every reading in the window, from the store."""
    store = Store.open(tmp_path / "store", _fsync=False)
    hub = Hub([ScriptedSource(sample())], store=store)
    await hub.start()
    try:
        for i in range(130):  # one every 10 minutes for ~21 hours
            assert await hub.ingest_meter(reading(5000.0 + i, (130 - i) * 10, f"m{i}")) == "stored"
        async with api_client(hub) as c:
            week = (await c.get("/history/meter", params={"days": 7})).json()
            hours = (await c.get("/history/meter", params={"days": 0.25})).json()
    finally:
        await hub.stop()
    assert week["count"] == 130 == len(week["readings"])  # the seed: at most 96
    assert [r["reading"]["reading_kwh"] for r in week["readings"]][-1] == 5129.0
    assert 30 <= hours["count"] <= 37  # 6 hours of readings every 10 minutes, not 6 readings


async def test_history_is_kept_without_anyone_polling():
    """The seed filled its history only when a client called /current_readings."""
    hub = Hub([ScriptedSource(sample())])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        for i in range(3):
            await hub.ingest_meter(reading(10.0 + i, 30 - i, f"k{i}"))
        async with api_client(hub) as c:  # the first request of any kind
            hist = (await c.get("/history/meter", params={"days": 1})).json()
            cur = (await c.get("/current_readings", params={"include_history": "true"})).json()
    finally:
        await hub.stop()
    assert hist["count"] == 3
    assert [h["reading"]["reading_kwh"] for h in cur["history"]] == [10.0, 11.0, 12.0]


async def test_cors_is_not_open_to_every_origin():
    hub = Hub([ScriptedSource(sample())])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub, Config()) as c:
            r = await c.get("/current_readings", headers={"Origin": "http://evil.example"})
    finally:
        await hub.stop()
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


async def test_not_live_is_503_not_old_numbers():
    """The seed's cache kept answering 200 with the last numbers while the gateway was gone."""
    src = ScriptedSource(sample())
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        src.fail_with = "The gateway is gone."
        hub.poll_now()
        await wait_for(lambda: not hub.power_is_live)
        async with api_client(hub) as c:
            got = {p: await c.get(p) for p in ("/health", "/current_readings", "/powerwall/status")}
    finally:
        await hub.stop()
    assert {p: r.status_code for p, r in got.items()} == dict.fromkeys(got, 503)
    assert got["/current_readings"].json()["powerwall_error"] == "The gateway is gone."
