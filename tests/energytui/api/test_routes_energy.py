"""/api/v1/energy and /api/v1/history.csv, served by uvicorn on loopback over a real
store of accelerated simulated days: spans agree (a longer one never shows less, 1 y
has totals), cost with a tariff, and the CSV reads back with its units in the header."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from energytui.clock import ManualClock
from energytui.config import load_config
from energytui.energy import ENERGY_FIELDS
from energytui.hub import Hub
from energytui.serve import start_api_in_loop
from energytui.sources.simulated import SimulatedSite, SimulatedSource, SiteSpec
from energytui.store import Store

NOW = datetime(2026, 6, 14, 13, 7, 30, tzinfo=UTC)
TARIFF = {
    "currency": "EUR",
    "import_price": 0.30,
    "export_price": 0.08,
    "daily_charge": 0.40,
    "rates": [
        {
            "start": "17:00",
            "end": "21:00",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "import_price": 0.45,
        }
    ],
}


@pytest.fixture
async def served(tmp_path):
    """40 simulated days, a reading every 50 minutes (a 5 s poll at --accelerate 600),
    in a real store; a hub on a frozen clock at the last one; its API on loopback."""
    site = SimulatedSite(SiteSpec(timezone="Europe/Berlin"))
    store = Store.open(tmp_path / "store", _fsync=False)
    t = NOW - timedelta(days=40)
    while t <= NOW:
        store.append("power", site.advance(t).to_record())
        t += timedelta(seconds=3000)
    store.maintain(NOW)
    clock = ManualClock(NOW)
    hub = Hub(
        [SimulatedSource(site, clock, interval_s=3600.0)],
        store=store,
        clock=clock,
        zone=ZoneInfo("Europe/Berlin"),
    )
    config = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path), "timezone": "Europe/Berlin"},
            "api": {"port": 0},
            "tariff": TARIFF,
        },
    )
    handle = await start_api_in_loop(hub, config)
    try:
        async with httpx.AsyncClient(base_url=handle.url, timeout=30) as client:
            yield client
    finally:
        await handle.stop()
        store.close()


async def test_spans_agree_and_a_longer_span_never_shows_less(served):
    previous = None
    for span in ("6h", "24h", "7d", "30d", "1y"):
        r = await served.get("/api/v1/energy", params={"span": span})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["span"] == span and body["origin"] == "store"
        assert body["method"] == "counters" or span == "1y"  # the first bucket: integrated
        total = body["total"]
        assert total["home_kwh"] > 0  # 1 y has totals
        for name in ENERGY_FIELDS:
            assert sum(p[name] for p in body["periods"]) == pytest.approx(total[name], abs=0.01)
            if previous is not None:
                assert total[name] >= previous[name] - 1e-6, (span, name)
        assert body["cost"]["currency"] == "EUR"
        assert body["cost"]["savings"] == pytest.approx(
            body["cost"]["without_solar"] - body["cost"]["cost"], abs=1e-3
        )
        previous = total
    week = (await served.get("/api/v1/energy", params={"span": "7d"})).json()
    month = (await served.get("/api/v1/energy", params={"span": "30d"})).json()
    # the numbers: 7 d said 79.5 and 30 d 59.6; now 30 d is about 30/7 of 7 d
    assert month["total"]["home_kwh"] / week["total"]["home_kwh"] == pytest.approx(30 / 7, rel=0.15)
    assert [p["start"][:10] for p in week["periods"]][-1] == "2026-06-14"
    assert week["unit"] == "day" and len(week["periods"]) == 8  # 7 days and a bit


async def test_history_csv_reads_back(served):
    r = await served.get("/api/v1/history.csv", params={"span": "7d"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert (
        'filename="energytui-7d-20260607-1507-20260614-1507.csv"'
        in r.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(r.text)))
    header = list(rows[0])
    assert header == [
        "start",
        "end",
        "solar_kwh",
        "home_kwh",
        "grid_import_kwh",
        "grid_export_kwh",
        "battery_charge_kwh",
        "battery_discharge_kwh",
        "cost_EUR",
        "without_solar_EUR",
        "savings_EUR",
    ]
    assert len(rows) > 6 * 24  # hourly rows on 7 d
    as_json = (await served.get("/api/v1/energy", params={"span": "7d"})).json()
    for name in ENERGY_FIELDS:
        assert sum(float(row[name]) for row in rows) == pytest.approx(
            as_json["total"][name], abs=0.01
        )
    assert sum(float(row["cost_EUR"]) for row in rows) == pytest.approx(
        as_json["cost"]["cost"], abs=0.01
    )
    daily = await served.get("/api/v1/history.csv", params={"span": "1y", "unit": "day"})
    assert len(list(csv.DictReader(io.StringIO(daily.text)))) == 41  # 40 days and a bit
    earlier = await served.get("/api/v1/history.csv", params={"span": "30d", "back": 2})
    assert earlier.text.splitlines()[1:] == []  # nothing then: the header alone


async def test_bad_parameters_are_one_sentence(served):
    for params in ({"span": "2w"}, {"unit": "week"}, {"back": -1}):
        r = await served.get("/api/v1/energy", params=params)
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, detail
