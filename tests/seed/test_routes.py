"""Every read route of the seed answers its shape from a real ``energytui serve`` on the
gateway emulator, compared key by key with the dicts the seed's app.py builds (read
with ``ast`` from the seed's own file), its status words and its status codes."""

from __future__ import annotations

import ast
import time

import httpx
import pytest

from devkit.emulator.gateway import raw_from_app
from energytui.api import create_api
from energytui.config import Config
from energytui.hub import Hub
from energytui.model import SeedMode
from tests.hub_support import ScriptedSource, sample
from tests.seed.conftest import PI_READINGS, Served, until_status
from tests.seed.seed_files import SeedApp, compare

#: Words ours may give beside the seed's: the battery idles within 50 W (docs/api.md).
EXTRA_WORDS = {"powerwall.battery.status": {"standby"}}


def test_current_readings_has_the_seed_shape(served: Served, seed_app: SeedApp):
    r = served.get("/current_readings", params={"include_history": "true"})
    assert r.status_code == 200
    body = r.json()
    compare(body, seed_app.body("get_current_readings", 1), extra_words=EXTRA_WORDS)
    assert seed_app.subscript_keys("get_current_readings", "response") == {"history"}
    pw = body["powerwall"]
    for part in ("solar", "battery", "grid", "load"):
        assert isinstance(pw[part]["power_watts"], float)
    assert pw["grid"]["status"] == "UP"  # pypowerwall's grid_status() word
    assert body["system_summary"]["grid_tied"] is True
    assert body["system_summary"]["mode"] in {m.value for m in SeedMode}
    assert 0.0 <= body["system_summary"]["efficiency"] <= 100.0
    meter = body["utility_meter"]
    assert (meter["reading_kwh"], meter["method"], meter["confidence"]) == (
        1314.25,
        "camera_ocr",
        0.98,
    )
    assert meter["last_update"] == PI_READINGS[-1]["timestamp"]  # when it was read
    (item,) = body["history"]  # the last 24 h: the recent reading only
    compare(item, seed_app.body("get_meter_readings", 0))
    assert item["reading"]["reading_kwh"] == 1314.25
    plain = served.get("/current_readings").json()
    assert "history" not in plain


def test_powerwall_status_is_the_seed_flat_readings(served: Served, seed_app: SeedApp):
    seed = seed_app.returned("get_powerwall_readings")
    end = time.monotonic() + 20
    while True:  # sitemaster comes from the slow schedule's first refresh
        r = served.get("/powerwall/status")
        assert r.status_code == 200
        flat = r.json()
        if flat["sitemaster"] is not None or time.monotonic() > end:
            break
        time.sleep(0.3)
    compare(flat, seed)
    assert flat["sitemaster"]["running"] is True
    assert flat["grid_status"] in {"UP", "DOWN", "SYNCING"}
    # the seed's scale is the gateway's (pypowerwall level()); the app's sits beside it
    assert flat["battery_level_percent"] == pytest.approx(
        raw_from_app(flat["battery_level_app_percent"]), abs=0.02
    )


def test_soe_vitals_and_health(served: Served, seed_app: SeedApp):
    soe = served.get("/powerwall/soe")
    assert soe.status_code == 200
    compare(soe.json(), seed_app.body("powerwall_soe", 0))
    assert isinstance(soe.json()["battery_percent"], float)
    vitals = served.get("/powerwall/vitals")
    assert vitals.status_code == 200 and isinstance(vitals.json(), dict)
    health = served.get("/health")
    assert health.status_code == 200
    compare(health.json(), seed_app.body("health_check", 0))
    assert health.json()["powerwall"] == "online"


def test_history_meter_has_the_seed_shape(served: Served, seed_app: SeedApp):
    r = served.get("/history/meter", params={"days": 60})
    assert r.status_code == 200
    body = r.json()
    compare(body, seed_app.body("meter_history", 0))
    assert body["count"] == len(body["readings"]) == 2
    item_shape = seed_app.body("get_meter_readings", 0)  # {"timestamp", "reading"}
    for item in body["readings"]:
        compare(item, item_shape)
    assert body["readings"][-1]["reading"]["reading_kwh"] == 1314.25
    assert served.get("/history/meter", params={"days": 1}).json()["count"] == 1
    assert served.get("/history/meter", params={"days": 0.5}).json()["count"] == 1
    bad = served.get("/history/meter", params={"days": "a week"})
    assert bad.status_code == 400
    compare(bad.json(), seed_app.body("meter_history", 1))


def test_unknown_route_is_the_seed_404(served: Served, seed_app: SeedApp):
    r = served.get("/no/such/route")
    assert r.status_code == 404
    compare(r.json(), seed_app.body("not_found", 0))


def test_gateway_failing_gives_503_with_the_seed_bodies(own_served: Served, seed_app: SeedApp):
    own_served.emulator.set_fault("error", status=500)
    r = until_status(own_served, "/current_readings", 503)
    compare(r.json(), seed_app.body("get_current_readings", 0))
    assert r.json()["powerwall_error"]  # why, in words
    health = own_served.get("/health")
    assert health.status_code == 503
    compare(health.json(), seed_app.body("health_check", 1))
    for path, func in (
        ("/powerwall/status", "powerwall_status"),
        ("/powerwall/soe", "powerwall_soe"),
        ("/powerwall/vitals", "powerwall_vitals"),
    ):
        got = own_served.get(path)
        assert got.status_code == 503, path
        compare(got.json(), seed_app.body(func, -1))  # its except branch
    metrics = own_served.get("/metrics").text
    errors = [ln for ln in metrics.splitlines() if ln.startswith("api_errors_total ")]
    assert errors and float(errors[0].split()[1]) >= 5
    assert "\nsolar_production_watts " not in metrics  # not exported while not live
    own_served.emulator.clear_faults()
    until_status(own_served, "/current_readings", 200)
    assert own_served.get("/health").status_code == 200


async def test_a_bug_answers_the_seed_500_and_counts_as_an_api_error(seed_app: SeedApp):
    hub = Hub([ScriptedSource(sample())])
    app = create_api(hub, Config())

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://energytui") as c:
        r = await c.get("/broken")
        metrics = (await c.get("/metrics")).text
    assert r.status_code == 500
    compare(r.json(), seed_app.body("server_error", 0))
    assert "api_errors_total 1.0" in metrics


def test_the_default_port_is_the_seeds(seed_app: SeedApp):
    (run,) = [
        n
        for n in ast.walk(seed_app.tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "run"
    ]
    port = next(k.value for k in run.keywords if k.arg == "port")
    assert isinstance(port, ast.Constant)
    assert Config().api.port == port.value == 8000
