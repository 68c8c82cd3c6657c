"""Energy over any span from a real store: the same readings give the same totals in
every span that holds them, a longer span never shows less, and 1 y has totals (issue
15: 24 h said 0.1 kWh and 30 d 0.7 for the same five minutes; with --accelerate 600,
7 d said 79.5 and 30 d 59.6; 1 y showed none)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energytui.config import TariffConfig, TariffRate
from energytui.energy import ENERGY_FIELDS, read_slots, summarise, to_csv
from energytui.sources.simulated import SimulatedSite, SiteSpec
from energytui.store import Store
from energytui.tariff import Tariff

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 14, 13, 7, 30, tzinfo=UTC)
SPANS = (
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(days=7),
    timedelta(days=30),
    timedelta(days=365),
)


def fill(path, start: datetime, end: datetime, step_s: float, fold_at: datetime | None = None):
    """Simulated readings from start to end every step_s seconds, through Store.append;
    returns the store (open) and the counters' truth per flow, kWh."""
    site = SimulatedSite(SiteSpec(timezone="Europe/Berlin"))
    store = Store.open(path, _fsync=False)
    t = start
    first = last = None
    while t <= end:
        rec = site.advance(t).to_record()
        store.append("power", rec)
        first = first or rec
        last = rec
        t += timedelta(seconds=step_s)
    store.maintain(fold_at or end)
    assert first is not None and last is not None
    names = (
        "solar_produced_wh",
        "home_consumed_wh",
        "grid_imported_wh",
        "grid_exported_wh",
        "battery_charged_wh",
        "battery_discharged_wh",
    )
    truth = {f: (last[c] - first[c]) / 1000 for f, c in zip(ENERGY_FIELDS, names, strict=True)}
    return store, truth


def query_of(store: Store):
    async def query(series, start, end, **kw):
        return store.query(series, start, end, **kw)

    return query


async def totals(store: Store, span: timedelta, tariff: Tariff | None = None):
    slots = await read_slots(query_of(store), NOW - span, NOW)
    assert slots is not None
    return summarise(slots, NOW - span, NOW, ZONE, "day", tariff)


async def test_five_minutes_give_the_same_totals_in_every_span(tmp_path):
    store, truth = fill(
        tmp_path / "s", NOW - timedelta(minutes=5), NOW, 5.0, fold_at=NOW - timedelta(minutes=2)
    )
    try:
        for span in SPANS:
            got = await totals(store, span)
            for name in ENERGY_FIELDS:
                assert getattr(got.total, name) == pytest.approx(truth[name], abs=1e-6), (
                    span,
                    name,
                )
            assert got.method == "counters"
    finally:
        store.close()


async def test_accelerated_days_agree_and_a_longer_span_never_shows_less(tmp_path):
    # --accelerate 600 with a 5 s poll: a reading every 50 simulated minutes, 40 days
    store, truth = fill(tmp_path / "s", NOW - timedelta(days=40), NOW, 3000.0)
    try:
        previous = None
        for span in SPANS:
            got = await totals(store, span)
            if previous is not None:
                for name in ENERGY_FIELDS:
                    assert getattr(got.total, name) >= getattr(previous.total, name) - 1e-9
            previous = got
            # the days add up to the span
            for name in ENERGY_FIELDS:
                assert sum(getattr(p.energy, name) for p in got.periods) == pytest.approx(
                    getattr(got.total, name)
                )
        # 1 y holds everything: the counters' difference (the first bucket, its raw
        # readings past retention, counts its one reading's power for one poll interval)
        assert previous is not None and previous.periods
        for name in ENERGY_FIELDS:
            assert getattr(previous.total, name) == pytest.approx(truth[name], abs=0.05)
        # 7 d is about 7/40 of the whole (not more than 30 d, as it used to be)
        week = await totals(store, timedelta(days=7))
        assert week.total.home_kwh == pytest.approx(truth["home_kwh"] * 7 / 40, rel=0.1)
    finally:
        store.close()


async def test_cost_per_day_adds_up_and_csv_reads_back(tmp_path):
    store, _ = fill(tmp_path / "s", NOW - timedelta(days=3), NOW, 60.0)
    cfg = TariffConfig(
        currency="EUR",
        import_price=0.30,
        export_price=0.08,
        daily_charge=0.48,
        rates=[TariffRate(name="peak", start="17:00", end="21:00", import_price=0.45)],
    )
    tariff = Tariff.from_config(cfg)
    assert tariff is not None
    try:
        span = await totals(store, timedelta(days=7), tariff)
        assert span.cost is not None and span.currency == "EUR"
        assert sum(p.cost.cost for p in span.periods if p.cost) == pytest.approx(span.cost.cost)
        # every whole day pays the whole fixed charge
        whole = [p for p in span.periods if p.slots == 96]
        assert whole and all(p.cost and p.cost.fixed == pytest.approx(0.48) for p in whole)
        # savings: the home all from the grid at the same prices, minus what was paid
        t = span.total
        assert span.cost.savings > 0
        assert span.cost.without_solar > t.home_kwh * 0.30
        rows = list(csv.DictReader(io.StringIO(to_csv(span))))
        assert len(rows) == len(span.periods)
        assert set(rows[0]) >= {"solar_kwh", "grid_import_kwh", "cost_EUR", "savings_EUR"}
        assert sum(float(r["home_kwh"]) for r in rows) == pytest.approx(t.home_kwh, abs=0.01)
        assert datetime.fromisoformat(rows[0]["start"]).utcoffset() == timedelta(hours=2)
    finally:
        store.close()


def test_prices_by_time_weekday_and_season():
    cfg = TariffConfig(
        import_price=0.30,
        export_price=0.08,
        rates=[
            TariffRate(name="night", start="23:00", end="06:00", import_price=0.15, days=["fri"]),
            TariffRate(
                name="summer peak",
                start="16:00",
                end="20:00",
                import_price=0.50,
                export_price=0.20,
                days=["mon", "tue", "wed", "thu", "fri"],
                months=[6, 7, 8],
            ),
        ],
    )
    t = Tariff.from_config(cfg)
    assert t is not None
    fri = datetime(2026, 6, 12, 23, 30, tzinfo=ZONE)  # a Friday
    assert t.prices_at(fri) == (0.15, 0.08)
    assert t.prices_at(fri + timedelta(hours=5)) == (0.15, 0.08)  # Saturday 04:30: Friday's night
    assert t.prices_at(fri + timedelta(days=1)) == (0.30, 0.08)  # Saturday night: not a rate
    assert t.prices_at(datetime(2026, 6, 12, 17, 0, tzinfo=ZONE)) == (0.50, 0.20)
    assert t.prices_at(datetime(2026, 6, 13, 17, 0, tzinfo=ZONE)) == (0.30, 0.08)  # Saturday
    assert t.prices_at(datetime(2026, 12, 11, 17, 0, tzinfo=ZONE)) == (0.30, 0.08)  # winter
    assert Tariff.from_config(TariffConfig()) is None


async def test_settled_days_are_read_once_and_give_the_same_slots(tmp_path):
    from energytui.energy import SlotCache

    store, _ = fill(tmp_path / "s", NOW - timedelta(days=12), NOW, 600.0)
    asked: list[tuple[datetime, datetime, str]] = []

    async def query(series, start, end, **kw):
        asked.append((start, end, kw.get("resolution", "auto")))
        return store.query(series, start, end, **kw)

    try:
        cache = SlotCache()
        plain = await read_slots(query, NOW - timedelta(days=365), NOW)
        first = await read_slots(query, NOW - timedelta(days=365), NOW, cache=cache, now=NOW)
        assert first == plain and len(cache.days) > 300  # empty days are settled too
        asked.clear()
        again = await read_slots(query, NOW - timedelta(days=365), NOW, cache=cache, now=NOW)
        assert again == plain
        # only today and the days not yet settled are read again
        assert [r for _, _, r in asked] == ["15m"]
        assert asked[0][0] >= NOW - timedelta(days=2)
        # a shorter span cut from the cache agrees with one read afresh
        week = await read_slots(query, NOW - timedelta(days=7), NOW, cache=cache, now=NOW)
        assert week == await read_slots(query, NOW - timedelta(days=7), NOW)
    finally:
        store.close()


async def test_a_counter_reset_costs_no_energy_and_adds_none(tmp_path):
    """The gateway replaced (or the simulated site started again): its counters go back.
    The energy before and after adds up; nothing is negative."""
    store = Store.open(tmp_path / "s", _fsync=False)
    truth = dict.fromkeys(ENERGY_FIELDS, 0.0)
    names = (
        "solar_produced_wh",
        "home_consumed_wh",
        "grid_imported_wh",
        "grid_exported_wh",
        "battery_charged_wh",
        "battery_discharged_wh",
    )
    t = NOW - timedelta(hours=20)
    for part in range(2):  # ten hours each, a fresh site (lower counters) for the second
        site = SimulatedSite(SiteSpec(timezone="Europe/Berlin", seed=part))
        recs = []
        end = t + timedelta(hours=10)
        while t < end:
            recs.append(site.advance(t).to_record())
            store.append("power", recs[-1])
            t += timedelta(seconds=30)
        for f, c in zip(ENERGY_FIELDS, names, strict=True):
            truth[f] += (recs[-1][c] - recs[0][c]) / 1000
    store.maintain(NOW)
    try:
        got = await totals(store, timedelta(hours=24))
        for name in ENERGY_FIELDS:
            value = getattr(got.total, name)
            assert value >= 0
            # the step across the reset counts as power × 30 s: a few Wh
            assert value == pytest.approx(truth[name], abs=0.1), name
        assert all(getattr(p.energy, n) >= 0 for p in got.periods for n in ENERGY_FIELDS)
    finally:
        store.close()
