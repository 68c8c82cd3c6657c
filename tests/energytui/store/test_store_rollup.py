"""Rollups: each column by the rule the wire table declares (means, counters keep their last
value), strings their last, None ignored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tinydb import TinyDB

from energytui.store import Store
from energytui.store import rollup as ru
from energytui.wire import ROLLUP_RULES, Rollup

from .conftest import T0, sample, shard_files


def rec(i: int, **fields) -> dict:
    return {"ts": (T0 + timedelta(seconds=5 * i)).isoformat().replace("+00:00", "Z"), **fields}


MINUTE = [
    rec(0, solar_w=100.0, soe_pct=50.0, grid_status="up", grid_imported_wh=1000.0, ok=True, n=1),
    rec(1, solar_w=200.0, soe_pct=None, grid_status="up", grid_imported_wh=1001.0, ok=False, n=2),
    rec(2, solar_w=600.0, soe_pct=53.0, grid_status="down", grid_imported_wh=None, n=3),
    rec(3, solar_w=None, soe_pct=None, grid_status=None, reading_kwh=7.5),
]


def test_rollup_of_one_minute():
    doc = ru.rollup_records(0, MINUTE)
    assert doc["count"] == 4
    assert doc["solar_w"] == pytest.approx(300.0)  # mean of the three numbers, None ignored
    assert doc["soe_pct"] == pytest.approx(51.5)
    assert doc["n"] == pytest.approx(2.0)  # ints are averaged too
    assert doc["grid_status"] == "down"  # strings: last non-None value
    assert doc["grid_imported_wh"] == 1001.0  # *_wh counters: last non-None value
    assert doc["reading_kwh"] == 7.5  # *_kwh counters too
    assert doc["ok"] is False  # booleans: last value
    assert doc["min"] == {"solar_w": 100.0, "soe_pct": 50.0, "n": 1}
    assert doc["max"] == {"solar_w": 600.0, "soe_pct": 53.0, "n": 3}
    assert doc["_n"] == {"solar_w": 3, "soe_pct": 2, "n": 3}


def test_combine_is_exact():
    a, b = MINUTE[:3], MINUTE[3:] + [rec(4, solar_w=1000.0, soe_pct=60.0, grid_status="up", n=10)]
    whole = ru.rollup_records(0, a + b)
    parts = ru.combine(0, [ru.rollup_records(0, a), ru.rollup_records(20_000, b)])
    for key in (
        "count",
        "solar_w",
        "soe_pct",
        "n",
        "grid_status",
        "grid_imported_wh",
        "reading_kwh",
    ):
        assert parts[key] == pytest.approx(whole[key]), key
    assert parts["min"] == whole["min"] and parts["max"] == whole["max"]
    assert parts.get("_n") == whole.get("_n")


def test_rules_are_declared_per_field_not_guessed_from_the_name():
    rules = {"peak_w": Rollup.MAX, "energy_wh": Rollup.SUM, "level": Rollup.LAST}
    recs = [
        rec(0, peak_w=5.0, energy_wh=1.5, total_kwh=10.0, level=3),
        rec(1, peak_w=9.0, energy_wh=2.25, total_kwh=20.0, level=1),
        rec(2, peak_w=7.0, energy_wh=None, total_kwh=30.0, level=2),
        rec(3, peak_w=None, energy_wh=0.25),
    ]
    whole = ru.rollup_records(0, recs, rules)
    assert whole["peak_w"] == 9.0  # max
    assert whole["energy_wh"] == 4.0  # sum, None ignored
    assert whole["level"] == 2  # last, though a number
    assert whole["total_kwh"] == 20.0  # not declared: a number is averaged, whatever its name
    assert whole["min"] == {"total_kwh": 10.0} and whole["max"] == {"total_kwh": 30.0}
    assert whole["_n"] == {"total_kwh": 3}
    parts = ru.combine(
        0,
        [ru.rollup_records(0, recs[:2], rules), ru.rollup_records(10_000, recs[2:], rules)],
        rules,
    )
    assert parts == whole
    # a value that is not a number makes even a declared column keep its last value
    odd = ru.rollup_records(0, [rec(0, peak_w=5.0), rec(1, peak_w="n/a")], rules)
    assert odd["peak_w"] == "n/a" and "min" not in odd


def test_the_store_rolls_up_by_the_wire_table():
    assert ru.rollup_records(0, MINUTE) == ru.rollup_records(0, MINUTE, ROLLUP_RULES)
    assert ROLLUP_RULES["grid_imported_wh"] is Rollup.LAST
    assert ROLLUP_RULES["solar_w"] is Rollup.MEAN


def test_store_rollups_match_the_raw_data(root):
    raw = [sample(i) for i in range(0, 2 * 720)]  # two hours of 5-s readings
    with Store.open(root, flush_interval_s=0) as store:
        for chunk in range(0, len(raw), 100):  # folded in uneven pieces, across minute edges
            store.append_many("power", raw[chunk : chunk + 100])
            store.maintain(T0 + timedelta(hours=3))
        end = T0 + timedelta(hours=2)
        minutes = store.query("power", T0, end, resolution="1m")
        quarters = store.query("power", T0, end, resolution="15m")
        days = store.query("power", T0, end, resolution="1d")
    assert len(minutes) == 120 and {m["count"] for m in minutes} == {12}
    first = ru.rollup_records(0, raw[:12])
    assert minutes[0]["solar_w"] == pytest.approx(first["solar_w"])
    assert minutes[0]["grid_w"] == pytest.approx(first["grid_w"])
    assert minutes[0]["solar_produced_wh"] == raw[11]["solar_produced_wh"]  # counter: last
    assert minutes[0]["grid_status"] == "up"
    assert minutes[0]["min"]["solar_w"] == 0.0 and minutes[0]["max"]["solar_w"] == 11.0
    assert "_n" not in minutes[0]  # bookkeeping stays inside the store
    assert len(quarters) == 8 and {q["count"] for q in quarters} == {180}
    q = ru.rollup_records(0, raw[180:360])
    assert quarters[1]["solar_w"] == pytest.approx(q["solar_w"])
    assert quarters[1]["soe_pct"] == pytest.approx(q["soe_pct"])
    assert quarters[1]["home_consumed_wh"] == raw[359]["home_consumed_wh"]
    assert len(days) == 1 and days[0]["count"] == len(raw)
    assert days[0]["ts"] == "2026-11-25T00:00:00.000Z"
    assert days[0]["solar_w"] == pytest.approx(sum(r["solar_w"] for r in raw) / len(raw))
    assert days[0]["grid_imported_wh"] == raw[-1]["grid_imported_wh"]
    # rollups live in their own TinyDB files
    for level in ("1m", "15m", "1d"):
        files = shard_files(root, level)
        assert files and all(TinyDB(f).all() for f in files)


def test_unfolded_readings_show_in_rollups_the_same(root):
    raw = [sample(i) for i in range(300)]
    with Store.open(root, flush_interval_s=0) as store:
        store.append_many("power", raw[:130])
        store.maintain(T0 + timedelta(hours=1))
        store.append_many("power", raw[130:])  # still only in the journal
        end = T0 + timedelta(minutes=30)
        before = {res: store.query("power", T0, end, resolution=res) for res in ("1m", "15m", "1d")}
        store.maintain(T0 + timedelta(hours=1))
        after = {res: store.query("power", T0, end, resolution=res) for res in ("1m", "15m", "1d")}
    for res in before:
        assert len(before[res]) == len(after[res])
        for b, a in zip(before[res], after[res], strict=True):
            assert b["count"] == a["count"]
            assert b["solar_w"] == pytest.approx(a["solar_w"])
            assert b["solar_produced_wh"] == a["solar_produced_wh"]


def test_late_reading_updates_every_level(root):
    with Store.open(root, flush_interval_s=0) as store:
        store.append_many("power", [sample(i) for i in range(0, 720, 2)])  # every 10 s for 1 h
        store.maintain(T0 + timedelta(hours=2))
        store.append("power", sample(1, solar=1000.0))  # a reading for 08:00:05 arrives late
        store.maintain(T0 + timedelta(hours=2))
        m0 = store.query("power", T0, T0, resolution="1m")[0]
        q0 = store.query("power", T0, T0, resolution="15m")[0]
        d0 = store.query("power", T0, T0, resolution="1d")[0]
    assert m0["count"] == 7
    assert m0["solar_w"] == pytest.approx((0 + 2 + 4 + 6 + 8 + 10 + 1000) / 7)
    assert q0["count"] == 91 and d0["count"] == 361
