"""The HTTP API over a real hub: routes, sign words, staleness, meter posts, history, CORS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energytui.config import Config
from energytui.hub import Hub
from energytui.model import SystemMode
from energytui.sources.simulated import SimulatedSource
from energytui.store import Store
from tests.hub_support import ScriptedSource, api_client, sample, wait_for

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def cfg(**api) -> Config:
    return Config.model_validate({"api": {"token": TOKEN, **api}})


def reading(kwh: float, rid: str | None, *, minutes_ago: float = 0.0, **kw) -> dict:
    ts = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    body = {
        "reading_kwh": kwh,
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
        "confidence": 0.93,
        "method": "tesseract+7seg",
        "digits": f"{int(kwh):06d}",
        **kw,
    }
    if rid is not None:
        body["id"] = rid
    return body


@pytest.mark.parametrize(
    ("grid_w", "battery_w", "direction", "status"),
    [
        (1200.0, 800.0, "importing", "discharging"),
        (-900.0, -1500.0, "exporting", "charging"),
        (10.0, -20.0, "idle", "standby"),
    ],
)
async def test_sign_words_follow_tesla_signs(grid_w, battery_w, direction, status):
    src = ScriptedSource(sample(grid_w=grid_w, battery_w=battery_w, solar_w=2000.0))
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub) as c:
            body = (await c.get("/api/v1/current_readings")).json()
            st = (await c.get("/api/v1/powerwall/status")).json()
    finally:
        await hub.stop()
    pw = body["powerwall"]
    assert (pw["grid_power"], pw["battery_power"]) == (grid_w, battery_w)
    assert pw["grid_direction"] == direction == st["grid_direction"]
    assert pw["battery_status"] == status == st["battery_status"]


async def test_current_readings_carry_the_full_sample(sim_hub):
    async with api_client(sim_hub) as c:
        r = await c.get("/api/v1/current_readings")
    assert r.status_code == 200
    body = r.json()
    s = sim_hub.latest_power
    pw = body["powerwall"]
    assert body["stale"] is False and pw["stale"] is False
    assert pw["source"] == "simulated"
    assert pw["battery_percentage"] == pytest.approx(s.soe_pct, abs=1)
    assert pw["backup_reserve_percentage"] == 20.0
    assert pw["grid_status"] == "up" and pw["grid_connected"] is True
    assert pw["mode"] == s.mode.value or pw["mode"] in {m.value for m in SystemMode}
    assert set(pw["lifetime"]) == {
        "solar_produced_wh",
        "grid_imported_wh",
        "grid_exported_wh",
        "battery_charged_wh",
        "battery_discharged_wh",
        "home_consumed_wh",
    }
    assert pw["home_power"] == pytest.approx(
        pw["solar_power"] + pw["battery_power"] + pw["grid_power"], abs=0.5
    )
    assert body["meter"] is None
    assert body["sources"]["simulated"]["live"] is True
    assert "history" not in body or body["history"] is None
    assert set(body["energy_today"]) >= {"grid_import_kwh", "battery_discharge_kwh", "method"}


async def test_include_history_returns_every_in_memory_sample(sim_hub):
    await wait_for(lambda: len(sim_hub.state.history) >= 5)
    async with api_client(sim_hub) as c:
        body = (await c.get("/api/v1/current_readings", params={"include_history": "true"})).json()
    n = len(sim_hub.state.history)
    assert len(body["history"]["power"]) >= min(n, 5)
    assert body["history"]["meter"] == []


async def test_stale_power_is_marked_and_left_out_of_metrics():
    src = SimulatedSource(interval_s=0.05)
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        src.fail_with = "The simulated gateway is unplugged."
        hub.poll_now()
        await wait_for(lambda: hub.health["simulated"].consecutive_errors > 0)
        async with api_client(hub) as c:
            cur = (await c.get("/api/v1/current_readings")).json()
            health = (await c.get("/api/v1/health")).json()
            soe = (await c.get("/api/v1/powerwall/soe")).json()
            status = (await c.get("/api/v1/powerwall/status")).json()
            metrics = (await c.get("/metrics")).text
    finally:
        await hub.stop()
    assert cur["stale"] is True and cur["powerwall"]["stale"] is True
    assert cur["sources"]["simulated"]["last_error"] == "The simulated gateway is unplugged."
    assert health["status"] == "unhealthy" and health["powerwall_connected"] is False
    assert soe["stale"] is True
    assert status["connected"] is False
    assert status["last_error"] == "The simulated gateway is unplugged."
    assert "energytui_power_stale 1.0" in metrics
    assert "energytui_solar_power_watts" not in metrics
    assert "energytui_grid_imported_joules_total" not in metrics
    assert 'energytui_source_up{kind="power",source="simulated"} 0.0' in metrics


async def test_health_and_soe_when_live(sim_hub):
    async with api_client(sim_hub) as c:
        health = (await c.get("/api/v1/health")).json()
        soe = (await c.get("/api/v1/powerwall/soe")).json()
        vitals = (await c.get("/api/v1/powerwall/vitals")).json()
    assert health["status"] == "healthy"
    assert health["store"] == {"enabled": False, "readonly": False, "error": None}
    assert soe["stale"] is False and 0 <= soe["percentage"] <= 100
    assert vitals["available"] is False and vitals["notes"]


async def test_write_refused_without_a_configured_token(sim_hub):
    async with api_client(sim_hub, Config()) as c:
        r = await c.post("/api/v1/meter_reading", json=reading(100.0, "a"), headers=AUTH)
    assert r.status_code == 403
    assert "api.token" in r.json()["detail"]
    assert sim_hub.latest_meter is None


async def test_wrong_or_missing_token_is_401(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        missing = await c.post("/api/v1/meter_reading", json=reading(100.0, "a"))
        wrong = await c.post(
            "/api/v1/meter_reading",
            json=reading(100.0, "a"),
            headers={"Authorization": "Bearer nope"},
        )
    assert missing.status_code == wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert sim_hub.latest_meter is None


async def test_meter_post_stored_duplicate_lower(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        first = await c.post("/api/v1/meter_reading", json=reading(1234.5, "r1"), headers=AUTH)
        again = await c.post("/api/v1/meter_reading", json=reading(1234.5, "r1"), headers=AUTH)
        before = (await c.get("/api/v1/health")).json()
        lower = await c.post("/api/v1/meter_reading", json=reading(1200.0, "r2"), headers=AUTH)
        cur = (await c.get("/api/v1/current_readings")).json()
        health = (await c.get("/api/v1/health")).json()
    assert before["meter_refused_lower_kwh"] is None
    # the refused lower reading is in /health, which says it needs a look
    assert health["meter_refused_lower_kwh"] == 1200.0 and health["status"] == "degraded"
    assert first.status_code == 201 and first.json()["status"] == "stored"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert lower.status_code == 409
    assert "lower than the last accepted 1234.5 kWh" in lower.json()["detail"]
    assert cur["meter"]["reading_kwh"] == 1234.5
    assert cur["meter"]["id"] == "r1"
    assert cur["meter"]["stale"] is False
    assert len(sim_hub.state.meter_history) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reading_kwh": -1}, "reading_kwh"),
        ({"confidence": 1.5}, "confidence"),
        ({"timestamp": "2026-11-25T08:00:00"}, "timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+00:01"}, "timestamp"),
        ({"timestamp": 1732521600}, "timestamp"),
        ({"confidence": True}, "confidence"),
        ({"digits": "12a4"}, "digits"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_meter_body_is_422_with_one_sentence_and_nothing_stored(sim_hub, body, field):
    async with api_client(sim_hub, cfg()) as c:
        r = await c.post("/api/v1/meter_reading", json=reading(10.0, "x") | body, headers=AUTH)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail.startswith(field) and detail.endswith(".")
    assert sim_hub.latest_meter is None


async def test_malformed_json_is_a_clear_4xx(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        r = await c.post(
            "/api/v1/meter_reading",
            content=b'{"reading_kwh": 1',
            headers=AUTH | {"Content-Type": "application/json"},
        )
    assert r.status_code == 422
    assert r.json()["detail"] == "The request body is not valid JSON."
    assert sim_hub.latest_meter is None


async def test_meter_history_is_every_reading_from_the_store(tmp_path):
    store = Store.open(tmp_path / "store", _fsync=False)
    hub = Hub([SimulatedSource(interval_s=0.05)], store=store)
    await hub.start()
    try:
        async with api_client(hub, cfg()) as c:
            for i in range(130):  # more than the seed's 96-point cap
                r = await c.post(
                    "/api/v1/meter_reading",
                    json=reading(5000.0 + i * 0.1, f"m{i}", minutes_ago=130 - i),
                    headers=AUTH,
                )
                assert r.status_code == 201
            hist = (await c.get("/api/v1/history/meter", params={"days": 1})).json()
            short = (await c.get("/api/v1/history/meter", params={"days": 0.05})).json()
            bad = await c.get("/api/v1/history/meter", params={"days": 0})
    finally:
        await hub.stop()
    assert hist["origin"] == "store"
    assert hist["count"] == 130 == len(hist["readings"])
    kwh = [p["reading_kwh"] for p in hist["readings"]]
    assert kwh == sorted(kwh) and kwh[0] == 5000.0
    assert 0 < short["count"] < 130  # 1.2 h window
    assert bad.status_code == 422 and bad.json()["detail"].startswith("days:")


async def test_meter_history_without_store_comes_from_memory(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        for i in range(3):
            await c.post("/api/v1/meter_reading", json=reading(10.0 + i, f"k{i}"), headers=AUTH)
        hist = (await c.get("/api/v1/history/meter")).json()
        power = (await c.get("/api/v1/history/power", params={"hours": 1, "max_points": 4})).json()
    assert hist["origin"] == "memory" and hist["count"] == 3 and hist["days"] == 7
    assert power["origin"] == "memory" and 1 <= power["count"] <= 4


async def test_cors_is_off_unless_configured(sim_hub):
    origin = {"Origin": "http://dash.local"}
    async with api_client(sim_hub, cfg()) as c:
        off = await c.get("/api/v1/current_readings", headers=origin)
    async with api_client(sim_hub, cfg(cors_origins=["http://dash.local"])) as c:
        on = await c.get("/api/v1/current_readings", headers=origin)
    assert "access-control-allow-origin" not in off.headers
    assert on.headers["access-control-allow-origin"] == "http://dash.local"


async def test_an_old_pushed_meter_reading_is_stale(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        r = await c.post(
            "/api/v1/meter_reading", json=reading(77.0, "old", minutes_ago=20), headers=AUTH
        )
        cur = (await c.get("/api/v1/current_readings")).json()
        metrics = (await c.get("/metrics")).text
    assert r.status_code == 201
    assert cur["meter"]["stale"] is True and cur["meter"]["age_s"] >= 1199
    assert "energytui_meter_joules_total" not in metrics


async def test_undecodable_body_is_400_with_one_sentence(sim_hub):
    async with api_client(sim_hub, cfg()) as c:
        r = await c.post(
            "/api/v1/meter_reading",
            content=b"\xff\xfe\x00\x03\xc3",
            headers=AUTH | {"Content-Type": "application/json"},
        )
    assert r.status_code == 400
    assert r.json()["detail"] == "The request body is not valid JSON text (UTF-8)."
    assert sim_hub.latest_meter is None
