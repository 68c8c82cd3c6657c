"""Rollups: 1-minute, 15-minute and daily summaries of a series.

How each column is summarised is declared per field in the wire table
(:data:`energytui.wire.table.ROLLUP_RULES`), never guessed from its name. A rollup
document for one bucket looks like::

    {"ts": "2026-11-25T08:22:00.000Z", "count": 12,
     "solar_w": 1344.417, ...                       # Rollup.MEAN: the mean
     "solar_produced_wh": 8123001.8, ...            # Rollup.LAST: lifetime counters
     "grid_status": "up", "source": "simulated",    # Rollup.LAST: words
     "min": {"solar_w": 1201.0, ...}, "max": {"solar_w": 1500.2, ...},
     "_n": {"soe_pct": 11}}                         # per-field counts, only where != count

``Rollup.MAX`` keeps the highest value and ``Rollup.SUM`` the total. A column the
table does not declare is averaged when it holds numbers; a value that is not a
number (a string, a boolean) makes its column keep the last value in that bucket.
None values are ignored everywhere. Min and max go with means only. ``_n`` lets
buckets be combined exactly (a mean weighted by how many values made it); it is
stripped from query output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from energytui.store.records import ms_to_iso
from energytui.wire.columns import Rollup
from energytui.wire.table import ROLLUP_RULES

BOOKKEEPING = frozenset({"ts", "count", "min", "max", "_n"})

# module constants: looking an enum member up on its class costs a lookup per value
_MEAN, _LAST, _MAX, _SUM = Rollup.MEAN, Rollup.LAST, Rollup.MAX, Rollup.SUM
_NUMBERS = (float, int)  # exactly these: a bool is a word here, not a number


class _Bucket:
    """What one rollup bucket accumulates; raw records and finer buckets both feed it."""

    __slots__ = (
        "rules",
        "count",
        "order",
        "seen",
        "sums",
        "ns",
        "mins",
        "maxs",
        "lasts",
        "peaks",
        "totals",
    )

    def __init__(self, rules: Mapping[str, Rollup]) -> None:
        self.rules = rules
        self.count = 0
        self.order: list[str] = []
        self.seen: set[str] = set()
        self.sums: dict[str, float] = {}
        self.ns: dict[str, int] = {}
        self.mins: dict[str, float] = {}
        self.maxs: dict[str, float] = {}
        self.lasts: dict[str, object] = {}
        self.peaks: dict[str, float] = {}
        self.totals: dict[str, float] = {}

    def _drop_mean(self, key: str) -> None:
        del self.sums[key], self.ns[key], self.mins[key], self.maxs[key]

    def add(self, key: str, value: Any, n: int, lo: float, hi: float) -> None:
        """Take ``n`` values of ``key`` summarised as ``value`` (their mean, max or sum, by
        the column's rule) with range ``lo``..``hi``."""
        if key not in self.seen:
            self.seen.add(key)
            self.order.append(key)
        rule = self.rules.get(key, _MEAN)
        if rule is _LAST or key in self.lasts or type(value) not in _NUMBERS:
            # a field that was ever non-numeric in this bucket keeps its last value
            self.lasts[key] = value
            if key in self.sums:
                self._drop_mean(key)
            elif self.peaks or self.totals:
                self.peaks.pop(key, None)
                self.totals.pop(key, None)
            return
        if rule is _MAX:
            self.peaks[key] = max(self.peaks.get(key, value), value)
            return
        if rule is _SUM:
            self.totals[key] = self.totals.get(key, 0) + value
            return
        if key in self.sums:
            self.sums[key] += value * n
            self.ns[key] += n
            if lo < self.mins[key]:
                self.mins[key] = lo
            if hi > self.maxs[key]:
                self.maxs[key] = hi
        else:
            self.sums[key] = value * n
            self.ns[key] = n
            self.mins[key] = lo
            self.maxs[key] = hi

    def finish(self, bucket_ms: int) -> dict:
        for key in list(self.ns):
            if self.ns[key] <= 0:  # malformed input: nothing to average
                self._drop_mean(key)
        doc: dict = {"ts": ms_to_iso(bucket_ms), "count": self.count}
        nover = {}
        for key in self.order:
            if key in self.lasts:
                doc[key] = self.lasts[key]
            elif key in self.peaks:
                doc[key] = self.peaks[key]
            elif key in self.totals:
                doc[key] = round(self.totals[key], 3)
            elif key in self.sums:
                n = self.ns[key]
                doc[key] = round(self.sums[key] / n, 3)
                if n != self.count:
                    nover[key] = n
        if self.mins:
            doc["min"] = self.mins
            doc["max"] = self.maxs
        if nover:
            doc["_n"] = nover
        return doc


def rollup_records(
    bucket_ms: int, records: Iterable[dict], rules: Mapping[str, Rollup] = ROLLUP_RULES
) -> dict:
    """Summarise raw records (sorted by ts) into one bucket document."""
    b = _Bucket(rules)
    for rec in records:
        b.count += 1
        for key, value in rec.items():
            if key != "ts" and value is not None:
                b.add(key, value, 1, value, value)
    return b.finish(bucket_ms)


def combine(
    bucket_ms: int, docs: Iterable[dict], rules: Mapping[str, Rollup] = ROLLUP_RULES
) -> dict:
    """Merge bucket documents (sorted by ts) into one bigger bucket, exactly."""
    b = _Bucket(rules)
    for doc in docs:
        c = doc.get("count", 0)
        b.count += c
        nover = doc.get("_n") or {}
        dmin = doc.get("min") or {}
        dmax = doc.get("max") or {}
        for key, value in doc.items():
            if key in BOOKKEEPING or value is None:
                continue
            b.add(key, value, nover.get(key, c), dmin.get(key, value), dmax.get(key, value))
    return b.finish(bucket_ms)


def public(doc: dict) -> dict:
    """A copy of a stored document fit to hand out (no ``_n`` bookkeeping)."""
    out = dict(doc)
    out.pop("_n", None)
    if "min" in out:
        out["min"] = dict(out["min"])
        out["max"] = dict(out["max"])
    return out
