"""Today's energy: integrated from power samples and, where the gateway gives
lifetime counters, taken from their difference since local midnight.

Counters are the truth when present (they survive our own downtime); the
integral is kept beside them so the two can be reconciled on screen and a
gap in either is visible.
"""

from __future__ import annotations

import asyncio
import csv
import io
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from energytui.model import DailyEnergy, EnergyCounters, PowerSample

if TYPE_CHECKING:
    from energytui.tariff import Cost, Tariff

#: Samples further apart than this are a gap (we were down): do not integrate across it.
MAX_GAP_S = 300.0


@dataclass
class EnergyToday:
    """Running totals for the local day that contains the latest sample."""

    zone: ZoneInfo
    day: date | None = None
    integrated: DailyEnergy = field(default_factory=DailyEnergy)
    baseline: EnergyCounters | None = None
    latest_counters: EnergyCounters | None = None
    #: what the counters had counted today before they went back (a counter reset)
    carried: EnergyCounters = field(default_factory=EnergyCounters)
    #: prices for :meth:`cost` (the runtime sets it from the config); None: no cost
    tariff: Tariff | None = None
    #: today's energy per 15-minute slot (ms of its start), for time-of-use prices
    slots: dict[int, DailyEnergy] = field(default_factory=dict)
    _last: PowerSample | None = None
    _last_rec: dict[str, Any] | None = None  # _last as a record (made once per sample)

    def add(self, s: PowerSample) -> None:
        local_day = s.ts.astimezone(self.zone).date()
        if self.day != local_day:
            self.day = local_day
            self.integrated = DailyEnergy()
            self.baseline = s.counters
            self.latest_counters = None
            self.carried = EnergyCounters()
            self.slots = {}
            self._last = None
        rec = s.to_record()
        if self._last is not None:
            dt = (s.ts - self._last.ts).total_seconds()
            if 0 < dt <= MAX_GAP_S:
                self.integrated.add_interval(self._last, dt)
            step = _step(self._last_rec or _flat(self._last), rec, dt)
            if step is not None:
                mid = (_ms(self._last.ts) + _ms(s.ts)) // 2  # the step belongs where it mostly was
                _add(self.slots.setdefault(mid - mid % SLOT_MS, DailyEnergy()), step)
        if s.counters is not None:
            if self.baseline is None:
                self.baseline = s.counters
            elif self.latest_counters is not None and s.counters.went_back(self.latest_counters):
                self._counters_reset(s.counters)
            self.latest_counters = s.counters
        self._last = s
        self._last_rec = rec

    def _counters_reset(self, new: EnergyCounters) -> None:
        """Lifetime counters that go back were reset (a replaced gateway, or the
        simulated site started again): keep what they had counted today, count on from
        the new values. Without this, today's energy fell to zero and stayed there."""
        assert self.baseline is not None and self.latest_counters is not None
        self.carried = self.carried.plus(self.latest_counters.minus(self.baseline))
        self.baseline = new

    @property
    def from_counters(self) -> DailyEnergy | None:
        if self.baseline is None or self.latest_counters is None:
            return None
        return DailyEnergy.from_counters(
            self.carried.plus(self.latest_counters.minus(self.baseline))
        )

    @property
    def best(self) -> DailyEnergy:
        """Counters where present, else the integral."""
        return self.from_counters or self.integrated

    def cost(self) -> Cost | None:
        """Today's cost at the tariff's time-of-use prices, from the energy per slot;
        None without a tariff. The fixed charge counts the slots that saw energy."""
        if self.tariff is None:
            return None
        return cost_of_slots(self.slots, self.tariff, self.zone)

    def reconciliation(self) -> dict[str, float] | None:
        """Difference counters − integral per flow, kWh; None without counters."""
        c = self.from_counters
        if c is None:
            return None
        i = self.integrated
        return {
            "solar_kwh": c.solar_kwh - i.solar_kwh,
            "home_kwh": c.home_kwh - i.home_kwh,
            "grid_import_kwh": c.grid_import_kwh - i.grid_import_kwh,
            "grid_export_kwh": c.grid_export_kwh - i.grid_export_kwh,
            "battery_charge_kwh": c.battery_charge_kwh - i.battery_charge_kwh,
            "battery_discharge_kwh": c.battery_discharge_kwh - i.battery_discharge_kwh,
        }


def local_midnight(ts: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local day containing ``ts``, as an aware datetime."""
    local = ts.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    # a DST change at midnight can make that time not exist; fold to the next valid instant
    return start if start.utcoffset() is not None else start + timedelta(hours=1)


# -- energy per 15-minute slot, for any span ------------------------------------
#
# History totals are sums of slots, and every span is cut from the same slots, so a
# longer span never shows less and a day's bars add up to its week. A slot's energy
# comes from the lifetime counters where the gateway gives them: the difference between
# the last counters of one 15-minute rollup bucket and the last of the bucket before
# (spread evenly over the slots between when buckets are missing: the counters span
# our downtime). The first bucket (nothing before it), a bucket where the counters
# went back (reset) or a source without counters is read from its raw readings
# (counters between readings, or power × the time between readings up to
# MAX_GAP_S); once raw readings are gone, from its mean power × the time its readings
# covered (count × the poll interval, at most the bucket).

SLOT_S = 900
SLOT_MS = SLOT_S * 1000
#: How far before a window to look for the counters the first slot starts from.
BASELINE_LOOKBACK = timedelta(hours=6)
#: (DailyEnergy field, counter field in a power record, the power field and its sign)
FLOWS: tuple[tuple[str, str, str, float], ...] = (
    ("solar_kwh", "solar_produced_wh", "solar_w", 1.0),
    ("home_kwh", "home_consumed_wh", "load_w", 1.0),
    ("grid_import_kwh", "grid_imported_wh", "grid_w", 1.0),
    ("grid_export_kwh", "grid_exported_wh", "grid_w", -1.0),
    ("battery_charge_kwh", "battery_charged_wh", "battery_w", -1.0),
    ("battery_discharge_kwh", "battery_discharged_wh", "battery_w", 1.0),
)
ENERGY_FIELDS = tuple(f for f, _, _, _ in FLOWS)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _flat(rec: Mapping[str, Any] | PowerSample) -> dict[str, Any]:
    return rec.to_record() if isinstance(rec, PowerSample) else dict(rec)


def _counters(rec: Mapping[str, Any]) -> tuple[float, ...] | None:
    out = []
    for _, counter, _, _ in FLOWS:
        v = rec.get(counter)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
        out.append(float(v))
    return tuple(out)


def _power_energy(rec: Mapping[str, Any], seconds: float) -> dict[str, float]:
    """kWh per flow for ``rec``'s powers held ``seconds``."""
    out = {}
    for name, _, power, sign in FLOWS:
        v = rec.get(power)
        w = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0
        out[name] = max(0.0, sign * w) * seconds / 3_600_000.0
    return out


def _delta(a: tuple[float, ...], b: tuple[float, ...]) -> dict[str, float] | None:
    """kWh per flow from counters ``a`` to ``b``; None when one went back (a reset)."""
    if any(y < x for x, y in zip(a, b, strict=True)):
        return None
    return {f: (y - x) / 1000.0 for f, x, y in zip(ENERGY_FIELDS, a, b, strict=True)}


def _step(prev: Mapping[str, Any], cur: Mapping[str, Any], dt: float) -> dict[str, float] | None:
    """Energy between two readings ``dt`` s apart: counters, or the earlier power."""
    a, b = _counters(prev), _counters(cur)
    if a is not None and b is not None:
        d = _delta(a, b)
        if d is not None:
            return d
    if 0 < dt <= MAX_GAP_S:
        return _power_energy(prev, dt)
    return None


def _add(target: DailyEnergy, kwh: Mapping[str, float], factor: float = 1.0) -> None:
    for name in ENERGY_FIELDS:
        setattr(target, name, getattr(target, name) + kwh.get(name, 0.0) * factor)


def plus(a: DailyEnergy, b: DailyEnergy) -> DailyEnergy:
    out = DailyEnergy(method=a.method)
    for name in ENERGY_FIELDS:
        setattr(out, name, getattr(a, name) + getattr(b, name))
    return out


def _ts_ms(rec: Mapping[str, Any]) -> int | None:
    ts = rec.get("ts")
    try:
        if isinstance(ts, str):
            return _ms(datetime.fromisoformat(ts.replace("Z", "+00:00")))
        if isinstance(ts, datetime):
            return _ms(ts)
    except ValueError:
        return None
    return None


def raw_slots(rows: Iterable[Mapping[str, Any]]) -> dict[int, DailyEnergy]:
    """Energy per slot from readings (sorted by time): each step between two readings
    goes to the slot its middle falls in."""
    out: dict[int, DailyEnergy] = {}
    prev: tuple[int, Mapping[str, Any]] | None = None
    for rec in rows:
        t = _ts_ms(rec)
        if t is None:
            continue
        if prev is not None and t > prev[0]:
            a, b = _counters(prev[1]), _counters(rec)
            step = _step(prev[1], rec, (t - prev[0]) / 1000.0)
            if step is not None:
                method = "counters" if a is not None and b is not None else "integrated"
                mid = (prev[0] + t) // 2
                _add(out.setdefault(mid - mid % SLOT_MS, DailyEnergy(method=method)), step)
        prev = (t, rec)
    return out


def bucket_slots(
    buckets: Iterable[Mapping[str, Any]],
    first_ms: int,
    raw_of: Callable[[int], list[Mapping[str, Any]]] | None = None,
    interval_s: float = 5.0,
) -> tuple[dict[int, DailyEnergy], list[int]]:
    """Energy per slot from 15-minute rollup buckets (sorted), for slots from
    ``first_ms`` on; earlier buckets serve only as the counters' starting point.

    ``raw_of(bucket_ms)`` gives a bucket's raw readings where the counters cannot
    (see the comment above); without them the bucket's mean power counts for
    ``count × interval_s``. Returns the slots and the buckets that needed raw readings
    (a caller without raw access can fetch them and call again)."""
    out: dict[int, DailyEnergy] = {}
    needed: list[int] = []
    prev: tuple[int, tuple[float, ...]] | None = None
    for doc in buckets:
        b = _ts_ms(doc)
        if b is None:
            continue
        b -= b % SLOT_MS
        c = _counters(doc)
        d = _delta(prev[1], c) if prev is not None and c is not None else None
        if d is not None and prev is not None:
            n = max(1, (b - prev[0]) // SLOT_MS)
            for i in range(n):
                slot = b - i * SLOT_MS
                if slot >= first_ms:
                    _add(out.setdefault(slot, DailyEnergy(method="counters")), d, 1.0 / n)
        elif b >= first_ms:
            raw = raw_of(b) if raw_of is not None else None
            if raw:
                for slot, e in raw_slots(raw).items():
                    if slot == b:
                        _add(out.setdefault(b, DailyEnergy(method=e.method)), _as_dict(e))
            else:
                if raw_of is None:
                    needed.append(b)
                count = doc.get("count")
                n = count if isinstance(count, int) and count > 0 else 1
                seconds = min(SLOT_S, n * interval_s)
                _add(out.setdefault(b, DailyEnergy()), _power_energy(doc, seconds))
        if c is not None:
            prev = (b, c)
    return out, needed


def _as_dict(e: DailyEnergy) -> dict[str, float]:
    return {name: getattr(e, name) for name in ENERGY_FIELDS}


QueryFn = Callable[..., Awaitable[list[dict] | None]]


async def _read_range(
    query: QueryFn, first: int, last: int, interval_s: float
) -> dict[int, DailyEnergy] | None:
    lo = datetime.fromtimestamp(first / 1000, UTC) - BASELINE_LOOKBACK
    end = datetime.fromtimestamp(last / 1000, UTC)
    buckets = await query("power", lo, end, resolution="15m")
    if buckets is None:
        return None
    raw: dict[int, list[Mapping[str, Any]]] = {}
    _, needed = bucket_slots(buckets, first, None, interval_s)
    for b in needed:
        b_start = datetime.fromtimestamp(b / 1000, UTC)
        got = await query(
            "power", b_start, b_start + timedelta(milliseconds=SLOT_MS - 1), resolution="raw"
        )
        raw[b] = list(got or [])
    slots, _ = bucket_slots(buckets, first, lambda b: raw.get(b, []), interval_s)
    return {k: v for k, v in slots.items() if k <= last}


DAY_MS = 86_400_000
#: A UTC day's slots are kept once the day ended this long ago: late readings, and a
#: counter difference spread back over a gap, have arrived by then.
SETTLED = timedelta(hours=6)


@dataclass
class SlotCache:
    """Slots of settled UTC days, per store: a year is 35,040 rollup buckets (about
    1.5 s to read and sum on a desktop), and only today changes, so a 1 y span redrawn
    every 15 s reads the days it has not seen."""

    days: dict[int, dict[int, DailyEnergy]] = field(default_factory=dict)


_CACHES: weakref.WeakKeyDictionary[Any, SlotCache] = weakref.WeakKeyDictionary()


def slot_cache_for(store: Any) -> SlotCache | None:
    """The cache of ``store``'s settled days (None without a store)."""
    if store is None:
        return None
    try:
        return _CACHES.setdefault(store, SlotCache())
    except TypeError:  # an object that takes no weak reference: no cache
        return None


async def read_slots(
    query: QueryFn,
    start: datetime,
    end: datetime,
    *,
    interval_s: float = 5.0,
    cache: SlotCache | None = None,
    now: datetime | None = None,
) -> dict[int, DailyEnergy] | None:
    """Energy per slot from ``start`` to ``end`` out of a store (``query`` is
    :meth:`Hub.query_store`'s shape); None without a store. With a ``cache`` (and
    ``now``), settled days come from it and the days read are kept there."""
    first = _ms(start) - _ms(start) % SLOT_MS
    last = _ms(end)
    if cache is None or now is None:
        return await _read_range(query, first, last, interval_s)
    settled = _ms(now - SETTLED)
    out: dict[int, DailyEnergy] = {}
    runs: list[tuple[int, int]] = []
    run: int | None = None
    day = first - first % DAY_MS
    while day <= last:
        if day in cache.days:
            out.update((k, v) for k, v in cache.days[day].items() if first <= k <= last)
            if run is not None:
                runs.append((run, day - 1))
                run = None
        elif run is None:
            run = day
        day += DAY_MS
    if run is not None:
        runs.append((run, last))
    for lo, hi in runs:
        slots = await _read_range(query, lo, hi, interval_s)
        if slots is None:
            return None
        by_day: dict[int, dict[int, DailyEnergy]] = {}
        for k, v in slots.items():
            by_day.setdefault(k - k % DAY_MS, {})[k] = v
            if first <= k <= last:
                out[k] = v
        d = lo
        while d + DAY_MS - 1 <= hi:
            if d + DAY_MS <= settled:
                cache.days[d] = by_day.get(d, {})
            d += DAY_MS
    return out


# -- periods: the slots summed by hour, day or month -------------------------------
UNITS = ("slot", "hour", "day", "month")


@dataclass
class Period:
    """One bar or CSV row: energy (and cost) from ``start`` to ``end``, local time."""

    start: datetime
    end: datetime
    energy: DailyEnergy
    cost: Cost | None = None
    slots: int = 0  # how many 15-minute slots saw energy


@dataclass
class SpanEnergy:
    """A window's energy: its total, its periods, and where the figures came from."""

    start: datetime
    end: datetime
    unit: str
    total: DailyEnergy
    periods: list[Period]
    cost: Cost | None
    currency: str | None
    method: str  # "counters", "integrated", "counters and integrated", or "none" (no data)
    covered_s: float  # the time covered by slots that saw energy


def _period_start(local: datetime, unit: str, zone: ZoneInfo) -> datetime:
    if unit == "slot":
        return local
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        return datetime(local.year, local.month, local.day, tzinfo=zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def _period_end(start: datetime, unit: str, zone: ZoneInfo) -> datetime:
    if unit == "slot":
        return start + timedelta(seconds=SLOT_S)
    if unit == "hour":
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    if unit == "day":
        d = start.date() + timedelta(days=1)
        return datetime(d.year, d.month, d.day, tzinfo=zone)
    return datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=zone)


def _joined(a: str | None, b: str) -> str:
    return b if a is None or a == b else f"{a} and {b}"


def cost_of_slots(slots: Mapping[int, DailyEnergy], tariff: Tariff, zone: ZoneInfo) -> Cost:
    from energytui.tariff import Cost

    total = Cost(currency=tariff.currency)
    for ms, e in slots.items():
        local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
        total = total.plus(tariff.cost_of(e, local, SLOT_S))
    return total


def summarise(
    slots: Mapping[int, DailyEnergy],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    unit: str,
    tariff: Tariff | None = None,
) -> SpanEnergy:
    """Sum slots into periods of ``unit`` (local time) and a total, with costs."""
    from energytui.tariff import Cost

    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    periods: dict[datetime, Period] = {}
    total = DailyEnergy()
    methods: set[str] = set()
    cost = Cost() if tariff is not None else None
    for ms in sorted(slots):
        e = slots[ms]
        local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
        key = _period_start(local, unit, zone)
        p = periods.get(key)
        if p is None:
            p = periods[key] = Period(
                key, _period_end(key, unit, zone), DailyEnergy(), Cost() if tariff else None
            )
        _add(p.energy, _as_dict(e))
        _add(total, _as_dict(e))
        p.energy.method = _joined(p.energy.method if p.slots else None, e.method)
        p.slots += 1
        methods.add(e.method)
        if tariff is not None and p.cost is not None and cost is not None:
            c = tariff.cost_of(e, local, SLOT_S)
            p.cost = p.cost.plus(c)
            cost = cost.plus(c)
    method = " and ".join(sorted(methods)) if methods else "none"
    for p in periods.values():
        p.energy.method = " and ".join(sorted(set(p.energy.method.split(" and "))))
    total.method = method
    return SpanEnergy(
        start=start,
        end=end,
        unit=unit,
        total=total,
        periods=[periods[k] for k in sorted(periods)],
        cost=cost,
        currency=tariff.currency if tariff is not None else None,
        method=method,
        covered_s=len(slots) * SLOT_S,
    )


# -- CSV -----------------------------------------------------------------------------
def csv_header(currency: str | None) -> list[str]:
    cols = ["start", "end", *ENERGY_FIELDS]
    if currency:
        cols += [f"cost_{currency}", f"without_solar_{currency}", f"savings_{currency}"]
    return cols


def to_csv(span: SpanEnergy) -> str:
    """The span's periods as CSV: local ISO times with their offset, kWh and money
    (units in the column names; money to 4 decimals, so that rows add up to the span),
    one row per period, oldest first."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_header(span.currency))
    for p in span.periods:
        row: list[str] = [p.start.isoformat(), p.end.isoformat()]
        row += [f"{getattr(p.energy, name):.3f}" for name in ENERGY_FIELDS]
        if span.currency and p.cost is not None:
            row += [f"{p.cost.cost:.4f}", f"{p.cost.without_solar:.4f}", f"{p.cost.savings:.4f}"]
        w.writerow(row)
    return buf.getvalue()


def reading_spacing_s(interval_s: float | None, clock: object) -> float:
    """How far apart readings are in the data's time: the poll interval, times the
    clock's factor in an accelerated demo (a 5 s poll at 600× is 50 minutes)."""
    factor = getattr(clock, "factor", 1.0)
    return (interval_s or 5.0) * (factor if isinstance(factor, (int, float)) else 1.0)


async def slots_between(
    query: QueryFn | None,
    start: datetime,
    end: datetime,
    *,
    interval_s: float = 5.0,
    memory: Iterable[Mapping[str, Any]] = (),
    cache: SlotCache | None = None,
    now: datetime | None = None,
) -> tuple[dict[int, DailyEnergy], str]:
    """A window's energy per slot from the store (``query``), or from readings in memory
    when there is no store; with where it came from ("store" or "memory")."""
    slots = None
    if query is not None:
        slots = await read_slots(query, start, end, interval_s=interval_s, cache=cache, now=now)
    if slots is not None:
        return slots, "store"
    first, last = _ms(start) - _ms(start) % SLOT_MS, _ms(end)
    return {k: v for k, v in raw_slots(memory).items() if first <= k <= last}, "memory"


async def energy_between(
    query: QueryFn | None,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    unit: str,
    tariff: Tariff | None = None,
    *,
    interval_s: float = 5.0,
    memory: Iterable[Mapping[str, Any]] = (),
    cache: SlotCache | None = None,
    now: datetime | None = None,
) -> tuple[SpanEnergy, str]:
    """:func:`slots_between` summed by ``unit`` (see :func:`summarise`)."""
    slots, origin = await slots_between(
        query, start, end, interval_s=interval_s, memory=memory, cache=cache, now=now
    )
    # a year is 35,040 slots, a quarter of a second on a desktop: off the event loop
    span = await asyncio.to_thread(summarise, slots, start, end, zone, unit, tariff)
    return span, origin
