"""Records and time: validation, normalisation, and millisecond UTC timestamps.

Inside the store every time is an integer of milliseconds since the Unix epoch
(UTC); on the way out it becomes ISO 8601 with a ``Z``. Records are flat dicts
of ``float | int | str | bool | None``; ``ts`` is required.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from energytui.store.errors import StoreError

SERIES_RE = re.compile(r"[a-z0-9_]{1,64}")
FIELD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: Field names a record may not use: rollups put their bookkeeping there.
RESERVED_FIELDS = frozenset({"count", "min", "max"})
MAX_FIELDS = 64

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DAY_MS = 86_400_000


def check_series(series: object) -> str:
    if not isinstance(series, str) or not SERIES_RE.fullmatch(series):
        raise StoreError(
            f"series name {series!r} is not valid: use 1-64 characters from a-z, 0-9 and _."
        )
    return series


def dt_to_ms(ts: datetime) -> int:
    """Aware datetime → ms since the epoch (truncated, like the ISO form)."""
    return (ts - EPOCH) // MS


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def ms_to_iso(ms: int) -> str:
    """ms since the epoch → ``2026-11-25T08:22:39.431Z``."""
    d = EPOCH + timedelta(milliseconds=ms)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
        f"{d.second:02d}.{d.microsecond // 1000:03d}Z"
    )


def parse_ts(value: object, what: str = "ts") -> int:
    """An ISO 8601 string with Z/offset, or an aware datetime → ms since the epoch."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(f"{what} {value.isoformat()} has no time zone: use an aware UTC time.")
        return dt_to_ms(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            ts = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise StoreError(
                f"{what} {value!r} is not an ISO 8601 time such as 2026-11-25T08:22:39.431Z."
            ) from None
        if ts.tzinfo is None:
            raise StoreError(f"{what} {value!r} has no time zone: end it with Z.")
        return dt_to_ms(ts)
    raise StoreError(
        f"{what} must be an ISO 8601 string or an aware datetime, not {type(value).__name__}."
    )


def to_ms(value: object, what: str) -> int:
    """A query bound: aware datetime (naive ones are taken as UTC) or ISO string."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return parse_ts(value, what)


def normalize(series: str, record: object) -> tuple[int, dict]:
    """Check one record and return (ts_ms, a clean copy with ``ts`` as ISO Z first).

    Non-finite floats (NaN, ±inf) become None: JSON cannot hold them and a chart
    cannot draw them. Anything else that is not a flat JSON scalar is an error.
    """
    if not isinstance(record, dict):
        raise StoreError(f"a {series} record must be a dict, not {type(record).__name__}.")
    if "ts" not in record:
        raise StoreError(f"a {series} record has no 'ts' field: every record needs a time.")
    if len(record) > MAX_FIELDS + 1:
        raise StoreError(f"a {series} record has {len(record)} fields; at most {MAX_FIELDS} fit.")
    ts_ms = parse_ts(record["ts"])
    out: dict = {"ts": ms_to_iso(ts_ms)}
    for key, value in record.items():
        if key == "ts":
            continue
        if not isinstance(key, str) or not FIELD_RE.fullmatch(key) or key in RESERVED_FIELDS:
            raise StoreError(
                f"field name {key!r} in a {series} record is not allowed: use letters, digits"
                " and _ (not starting with _), and not count, min or max."
            )
        if value is None or isinstance(value, (bool, str, int)):
            if isinstance(value, str) and len(value) > 1024:
                raise StoreError(
                    f"field {key!r} in a {series} record is longer than 1024 characters."
                )
            out[key] = value
        elif isinstance(value, float):
            out[key] = value if math.isfinite(value) else None
        else:
            raise StoreError(
                f"field {key!r} in a {series} record holds a {type(value).__name__}; "
                "only numbers, strings, booleans and None can be stored."
            )
    return ts_ms, out


# -- periods: which file a time belongs to ------------------------------------
def day_key(ms: int) -> str:
    d = EPOCH + timedelta(milliseconds=ms)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def month_key(ms: int) -> str:
    d = EPOCH + timedelta(milliseconds=ms)
    return f"{d.year:04d}-{d.month:02d}"


def year_key(ms: int) -> str:
    return f"{(EPOCH + timedelta(milliseconds=ms)).year:04d}"


def period_bounds(key: str) -> tuple[int, int]:
    """A period key (YYYY, YYYY-MM or YYYY-MM-DD) → [start_ms, end_ms)."""
    parts = [int(p) for p in key.split("-")]
    if len(parts) == 3:
        start = datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        end = start + timedelta(days=1)
    elif len(parts) == 2:
        start = datetime(parts[0], parts[1], 1, tzinfo=UTC)
        end = datetime(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1, tzinfo=UTC)
    else:
        start = datetime(parts[0], 1, 1, tzinfo=UTC)
        end = datetime(parts[0] + 1, 1, 1, tzinfo=UTC)
    return dt_to_ms(start), dt_to_ms(end)


def next_period_key(key: str) -> str:
    _, end = period_bounds(key)
    d = EPOCH + timedelta(milliseconds=end)
    n = key.count("-")
    return (
        f"{d.year:04d}",
        f"{d.year:04d}-{d.month:02d}",
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
    )[n]
