"""Prometheus series from the wire table: which ones a sample or a reading gives, and their values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from energytui.wire.columns import Metric, WireField


def series(fields: tuple[WireField, ...], obj: Any) -> Iterator[tuple[Metric, float]]:
    """Each series' value from ``obj``; a value not known leaves its series out."""
    for f in fields:
        if f.metric is None:
            continue
        v = getattr(obj, f.attr)
        value = None if v is None else f.metric.value(v)
        if value is not None:
            yield f.metric, value
