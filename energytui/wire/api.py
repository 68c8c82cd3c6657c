"""Our HTTP API's JSON from the wire table, and back (the second-instance viewer).

The response models in :mod:`energytui.api.schemas` are built from the same
definitions (:func:`reading_fields`, :func:`point_fields`, :func:`lifetime_fields`), so
the OpenAPI contract, the JSON written and the JSON read back cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from energytui.model import EnergyCounters, PowerSample, iso_z, parse_iso
from energytui.wire.columns import PARTS, Json, WireField
from energytui.wire.table import COUNTERS, POWER, SAMPLE_TIME

#: pydantic field definitions: key → (annotation, default or FieldInfo)
FieldDefs = dict[str, tuple[Any, Any]]


def _definition(j: Json) -> tuple[Any, Any]:
    if j.doc is None:
        return (j.type, ... if j.required else None)
    if j.required:
        return (j.type, Field(description=j.doc))
    return (j.type, Field(default=None, description=j.doc))


def _keys(fields: tuple[WireField, ...]) -> Iterator[tuple[WireField, Json]]:
    """Every (field, key) pair of ``PowerwallReadings``, in the order the JSON has them."""
    for part in PARTS:
        for f in fields:
            for j in f.json:
                if j.part == part:
                    yield f, j


# -- schema definitions ---------------------------------------------------------
def reading_fields() -> FieldDefs:
    """``PowerwallReadings``' keys after its head (timestamp, age_s, stale), lifetime left out."""
    return {j.name: _definition(j) for _, j in _keys(POWER)}


def point_fields() -> FieldDefs:
    """A history point's keys after its timestamp: each may be missing from a rollup."""
    return {f.json[0].name: (float | None, None) for f in POWER if f.history}


def lifetime_fields() -> FieldDefs:
    return {j.name: _definition(j) for f in COUNTERS for j in f.json}


# -- model → JSON -----------------------------------------------------------------
def readings(s: PowerSample) -> dict[str, Any]:
    """``PowerwallReadings``' keys for a sample, except the response's ``age_s`` and ``stale``."""
    out: dict[str, Any] = {j.name: j.encode(s.ts) for j in SAMPLE_TIME.json}
    for f, j in _keys(POWER):
        out[j.name] = j.encode(getattr(s, f.attr))
    out["lifetime"] = lifetime(s.counters)
    return out


def lifetime(c: EnergyCounters | None) -> dict[str, float] | None:
    if c is None:
        return None
    return {j.name: j.encode(getattr(c, f.attr)) for f in COUNTERS for j in f.json}


def point(s: PowerSample) -> dict[str, Any]:
    """A history point (``PowerPoint``) of a sample."""
    out: dict[str, Any] = {"timestamp": iso_z(s.ts)}
    for f in POWER:
        if f.history:
            out[f.json[0].name] = getattr(s, f.attr)
    return out


def point_from_record(rec: Mapping[str, Any]) -> dict[str, Any] | None:
    """A history point of a store record (raw or rolled up); None when it lacks a time.

    Raises ValueError or TypeError for a column that is not a number.
    """
    ts = rec.get("ts")
    when = parse_iso(ts) if isinstance(ts, str) else ts
    if not isinstance(when, datetime):
        return None
    out: dict[str, Any] = {"timestamp": iso_z(when)}
    for f in POWER:
        if f.history:
            v = rec.get(f.attr)
            out[f.json[0].name] = None if v is None or isinstance(v, bool) else float(v)
    return out


# -- JSON → model (the viewer) ----------------------------------------------------
def _read_back(f: WireField, body: Mapping[str, Any]) -> Any:
    j = f.read_back
    if j is None or j.decode is None:
        raise ValueError(f"{f.attr} has no API key to be read back from")
    return j.decode(body[j.name])


def sample_from_readings(body: Mapping[str, Any]) -> PowerSample:
    """The :class:`PowerSample` that :func:`readings` was made from (its JSON, parsed)."""
    lt = body.get("lifetime")
    counters = None
    if lt is not None:
        counters = EnergyCounters(**{f.attr: _read_back(f, lt) for f in COUNTERS})
    return PowerSample(
        ts=_read_back(SAMPLE_TIME, body),
        counters=counters,
        **{f.attr: _read_back(f, body) for f in POWER if f.stored},
    )
