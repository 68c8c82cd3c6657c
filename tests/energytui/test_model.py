"""Signs and modes, pinned: the seed had battery and grid words backwards."""

from datetime import UTC, datetime

import pytest

from energytui.model import (
    BATTERY_WORDS,
    GRID_WORDS,
    DailyEnergy,
    EnergyCounters,
    GridStatus,
    PowerSample,
    SystemMode,
    battery_eta_hours,
    classify_mode,
    describe_battery,
    describe_grid,
    iso_z,
    parse_iso,
)

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def s(solar=0.0, battery=0.0, grid=0.0, load=None, status=GridStatus.UP, soe=50.0):
    if load is None:
        load = solar + battery + grid
    return PowerSample(T, solar, battery, grid, load, soe_pct=soe, grid_status=status)


def test_grid_positive_means_importing():
    assert describe_grid(1500) == "importing from grid"
    assert describe_grid(-1500) == "exporting to grid"
    assert describe_grid(10) == "grid idle"


def test_battery_positive_means_discharging():
    # the seed said "charging" for a positive battery value: that was backwards
    assert describe_battery(2000) == "discharging"
    assert describe_battery(-2000) == "charging"
    assert describe_battery(0) == "standby"


@pytest.mark.parametrize(
    ("sample", "mode"),
    [
        (s(solar=5000, battery=-3000, grid=0), SystemMode.SOLAR_CHARGING_BATTERY),
        (s(solar=6000, battery=0, grid=-4000), SystemMode.EXPORTING_TO_GRID),
        (s(solar=6000, battery=-2000, grid=-2000), SystemMode.SOLAR_CHARGING_BATTERY),
        (s(solar=0, battery=1500, grid=0), SystemMode.DRAWING_FROM_BATTERY),
        (s(solar=0, battery=0, grid=1200), SystemMode.GRID_POWERED),
        (s(solar=2000, battery=0, grid=0), SystemMode.SOLAR_POWERED),
        (s(solar=0, battery=-3000, grid=3500), SystemMode.GRID_CHARGING_BATTERY),
        (s(solar=0, battery=1500, grid=0, status=GridStatus.DOWN), SystemMode.OFF_GRID),
        (s(solar=0, battery=0, grid=0, load=0), SystemMode.IDLE),
    ],
)
def test_modes(sample, mode):
    assert classify_mode(sample) is mode
    assert sample.mode.value == mode.value


def test_seed_mode_names_kept():
    for name in (
        "solar_charging_battery",
        "exporting_to_grid",
        "drawing_from_battery",
        "grid_powered",
        "off_grid",
    ):
        assert SystemMode(name).value == name


def test_self_powered_and_solar_self_consumption():
    p = s(solar=3000, battery=500, grid=500, load=4000)
    assert p.self_powered_pct == pytest.approx(87.5)
    assert p.solar_self_consumption_pct == pytest.approx(100.0)
    e = s(solar=5000, battery=0, grid=-4000, load=1000)
    assert e.self_powered_pct == pytest.approx(100.0)
    assert e.solar_self_consumption_pct == pytest.approx(20.0)
    night = s(solar=0, grid=800, load=800)
    assert night.solar_self_consumption_pct is None
    assert night.self_powered_pct == pytest.approx(0.0)


def test_battery_eta():
    # 13.5 kWh at 50 %, charging at 2.7 kW → 6.75 kWh to go → 2.5 h
    assert battery_eta_hours(50, -2700, 13.5) == pytest.approx(2.5)
    # discharging to a 20 % reserve at 1.35 kW: 30 % of 13.5 = 4.05 kWh → 3 h
    assert battery_eta_hours(50, 1350, 13.5, 20) == pytest.approx(3.0)
    assert battery_eta_hours(50, 0, 13.5) is None


def test_naive_time_rejected():
    with pytest.raises(ValueError):
        PowerSample(datetime(2026, 1, 1), 0, 0, 0, 0)


def test_record_round_trip():
    c = EnergyCounters(1, 2, 3, 4, 5, 6)
    p = PowerSample(
        T,
        1.5,
        -2.5,
        3.5,
        2.5,
        soe_pct=40,
        reserve_pct=20,
        grid_status=GridStatus.UP,
        counters=c,
        source="x",
    )
    assert PowerSample.from_record(p.to_record()) == p
    assert p.to_record()["ts"] == "2026-06-01T12:00:00.000Z"


def test_sign_words_table():
    assert GRID_WORDS.words == ("importing", "exporting", "idle")
    assert BATTERY_WORDS.words == ("discharging", "charging", "standby")
    assert [GRID_WORDS.text(w) for w in (51, -51, -50)] == [
        "importing from grid",
        "exporting to grid",
        "grid idle",
    ]
    assert [BATTERY_WORDS.word(w) for w in (51, -51, 50)] == ["discharging", "charging", "standby"]


def test_record_columns_are_the_sample_fields_and_missing_ones_take_defaults():
    p = PowerSample(T, 1.0, 2.0, 3.0, 4.0)
    assert list(p.to_record()) == [
        "ts",
        "solar_w",
        "battery_w",
        "grid_w",
        "load_w",
        "soe_pct",
        "reserve_pct",
        "grid_status",
        "source",
    ]
    bare = {"ts": "2026-06-01T12:00:00Z", "solar_w": 1, "battery_w": 2, "grid_w": 3, "load_w": 4}
    assert PowerSample.from_record(bare) == p
    assert PowerSample.from_record({**bare, "grid_status": None, "source": ""}) == p
    with pytest.raises(KeyError):
        PowerSample.from_record({**bare, "load_w": None})


def test_iso_round_trip():
    assert parse_iso(iso_z(T)) == T
    assert parse_iso("2026-06-01T14:00:00+02:00") == T


def test_counters_delta_never_negative():
    a = EnergyCounters(10, 10, 10, 10, 10, 10)
    b = EnergyCounters(15, 9, 10, 12, 10, 20)
    d = b.minus(a)
    assert d.solar_produced_wh == 5 and d.grid_imported_wh == 0 and d.home_consumed_wh == 10


def test_daily_energy_integration_by_direction():
    e = DailyEnergy()
    e.add_interval(s(solar=0, battery=1000, grid=-500, load=500), 3600)
    assert e.battery_discharge_kwh == pytest.approx(1.0)
    assert e.grid_export_kwh == pytest.approx(0.5)
    assert e.grid_import_kwh == 0.0


def test_grid_status_words():
    assert GridStatus.from_gateway("SystemIslandedActive") is GridStatus.DOWN
    assert GridStatus.from_gateway("SystemGridConnected") is GridStatus.UP
    assert GridStatus.from_gateway("SystemTransitionToGrid") is GridStatus.SYNCING
    assert GridStatus.from_gateway(None) is GridStatus.UNKNOWN
