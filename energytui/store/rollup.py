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

from energytui.store.records import ms_to_iso


def is_counter(name: str) -> bool:
    """Cumulative energy counters: a rollup keeps their last value, never a mean."""
    return name.endswith("_wh") or name.endswith("_kwh")


BOOKKEEPING = frozenset({"ts", "count", "min", "max", "_n"})


def _is_mean(name: str, value: object) -> bool:
    return type(value) in (float, int) and not is_counter(name)


def _finish(
    bucket_ms: int,
    count: int,
    order: list[str],
    sums: dict,
    ns: dict,
    mins: dict,
    maxs: dict,
    lasts: dict,
) -> dict:
    doc: dict = {"ts": ms_to_iso(bucket_ms), "count": count}
    nover = {}
    for key in order:
        if key in lasts:
            doc[key] = lasts[key]
        elif key in sums:
            n = ns[key]
            doc[key] = round(sums[key] / n, 3)
            if n != count:
                nover[key] = n
    if mins:
        doc["min"] = mins
        doc["max"] = maxs
    if nover:
        doc["_n"] = nover
    return doc


def rollup_records(bucket_ms: int, records: Iterable[dict]) -> dict:
    """Summarise raw records (sorted by ts) into one bucket document."""
    count = 0
    order: list[str] = []
    seen: set[str] = set()
    sums: dict[str, float] = {}
    ns: dict[str, int] = {}
    mins: dict[str, float] = {}
    maxs: dict[str, float] = {}
    lasts: dict[str, object] = {}
    for rec in records:
        count += 1
        for key, value in rec.items():
            if key == "ts" or value is None:
                continue
            if key not in seen:
                seen.add(key)
                order.append(key)
            if key in lasts or not _is_mean(key, value):
                # a field that was ever non-numeric in this bucket keeps its last value
                lasts[key] = value
                if key in sums:
                    del sums[key], ns[key], mins[key], maxs[key]
                continue
            if key in sums:
                sums[key] += value
                ns[key] += 1
                if value < mins[key]:
                    mins[key] = value
                elif value > maxs[key]:
                    maxs[key] = value
            else:
                sums[key] = value
                ns[key] = 1
                mins[key] = value
                maxs[key] = value
    return _finish(bucket_ms, count, order, sums, ns, mins, maxs, lasts)


def combine(bucket_ms: int, docs: Iterable[dict]) -> dict:
    """Merge bucket documents (sorted by ts) into one bigger bucket, exactly."""
    count = 0
    order: list[str] = []
    seen: set[str] = set()
    sums: dict[str, float] = {}
    ns: dict[str, int] = {}
    mins: dict[str, float] = {}
    maxs: dict[str, float] = {}
    lasts: dict[str, object] = {}
    for doc in docs:
        c = doc.get("count", 0)
        count += c
        nover = doc.get("_n") or {}
        dmin = doc.get("min") or {}
        dmax = doc.get("max") or {}
        for key, value in doc.items():
            if key in BOOKKEEPING or value is None:
                continue
            if key not in seen:
                seen.add(key)
                order.append(key)
            if key in lasts or not _is_mean(key, value):
                lasts[key] = value
                if key in sums:
                    del sums[key], ns[key], mins[key], maxs[key]
                continue
            n = nover.get(key, c)
            lo = dmin.get(key, value)
            hi = dmax.get(key, value)
            if key in sums:
                sums[key] += value * n
                ns[key] += n
                if lo < mins[key]:
                    mins[key] = lo
                if hi > maxs[key]:
                    maxs[key] = hi
            else:
                sums[key] = value * n
                ns[key] = n
                mins[key] = lo
                maxs[key] = hi
    for key in list(ns):
        if ns[key] <= 0:  # malformed input: nothing to average
            del sums[key], ns[key], mins[key], maxs[key]
    return _finish(bucket_ms, count, order, sums, ns, mins, maxs, lasts)


def public(doc: dict) -> dict:
    """A copy of a stored document fit to hand out (no ``_n`` bookkeeping)."""
    out = dict(doc)
    out.pop("_n", None)
    if "min" in out:
        out["min"] = dict(out["min"])
        out["max"] = dict(out["max"])
    return out
