"""Rollups: 1-minute, 15-minute and daily summaries of a series.

A rollup document for one bucket looks like::

    {"ts": "2026-11-25T08:22:00.000Z", "count": 12,
     "solar_w": 1344.417, ...                       # numeric fields: mean
     "solar_produced_wh": 8123001.8, ...            # *_wh / *_kwh counters: last value
     "grid_status": "up", "source": "simulated",    # strings and booleans: last value
     "min": {"solar_w": 1201.0, ...}, "max": {"solar_w": 1500.2, ...},
     "_n": {"soe_pct": 11}}                         # per-field counts, only where != count

None values are ignored everywhere. ``_n`` lets buckets be combined exactly
(a mean weighted by how many values made it); it is stripped from query output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeGuard

from energytui.store.records import ms_to_iso


def is_counter(name: str) -> bool:
    """Cumulative energy counters: a rollup keeps their last value, never a mean."""
    return name.endswith("_wh") or name.endswith("_kwh")


BOOKKEEPING = frozenset({"ts", "count", "min", "max", "_n"})


def _is_mean(value: object, name: str) -> TypeGuard[float]:
    """A plain int or float (not a bool) of a field that is averaged."""
    return type(value) in (float, int) and not is_counter(name)


class _Bucket:
    """What one rollup bucket accumulates; raw records and finer buckets both feed it."""

    __slots__ = ("count", "order", "seen", "sums", "ns", "mins", "maxs", "lasts")

    def __init__(self) -> None:
        self.count = 0
        self.order: list[str] = []
        self.seen: set[str] = set()
        self.sums: dict[str, float] = {}
        self.ns: dict[str, int] = {}
        self.mins: dict[str, float] = {}
        self.maxs: dict[str, float] = {}
        self.lasts: dict[str, object] = {}

    def _drop_mean(self, key: str) -> None:
        del self.sums[key], self.ns[key], self.mins[key], self.maxs[key]

    def add(self, key: str, value: object, n: int, lo: float, hi: float) -> None:
        """Take ``n`` values of ``key`` whose mean is ``value`` and range ``lo``..``hi``."""
        if key not in self.seen:
            self.seen.add(key)
            self.order.append(key)
        if key in self.lasts or not _is_mean(value, key):
            # a field that was ever non-numeric in this bucket keeps its last value
            self.lasts[key] = value
            if key in self.sums:
                self._drop_mean(key)
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


def rollup_records(bucket_ms: int, records: Iterable[dict]) -> dict:
    """Summarise raw records (sorted by ts) into one bucket document."""
    b = _Bucket()
    for rec in records:
        b.count += 1
        for key, value in rec.items():
            if key != "ts" and value is not None:
                b.add(key, value, 1, value, value)
    return b.finish(bucket_ms)


def combine(bucket_ms: int, docs: Iterable[dict]) -> dict:
    """Merge bucket documents (sorted by ts) into one bigger bucket, exactly."""
    b = _Bucket()
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
