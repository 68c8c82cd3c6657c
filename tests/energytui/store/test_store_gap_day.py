"""A day without raw files is a gap, not data removed by retention (issue 14, finding 3).

``/history/power`` answered 1-2 rows labelled ``origin: store`` when the window began
on a day with no raw file: the store took the missing file as deleted by retention
and answered from 15-minute rollups. Only the retention marker says raw data was
removed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from energytui.store import Store

RETENTION = "retention.json"
DAY = datetime(2026, 11, 25, tzinfo=UTC)


def recs(start: datetime, n: int, step_s: float = 5.0) -> list[dict]:
    return [
        {
            "ts": (start + timedelta(seconds=step_s * i)).isoformat().replace("+00:00", "Z"),
            "solar_w": float(i),
            "grid_imported_wh": 1000.0 + i,
        }
        for i in range(n)
    ]


def test_a_window_starting_on_a_day_without_raw_files_answers_raw(root):
    # a new store: its first readings at midnight, the journal folded into files
    with Store.open(root, flush_interval_s=0, _fsync=False) as store:
        store.append_many("power", recs(DAY, 2160))  # 3 h at 5 s
        store.maintain(DAY + timedelta(hours=3, minutes=1))
        assert store.stats()["journal_records"] == 0
        # 6 h window from 21:00 the day before (no raw file: the store did not exist)
        rows = store.query("power", DAY - timedelta(hours=3), DAY + timedelta(hours=3))
        assert len(rows) == 2160
        assert rows[0]["ts"] == "2026-11-25T00:00:00.000Z"
    assert json.loads((root / RETENTION).read_bytes()) == {}  # nothing was ever removed
    # opened again (and by a reader) it is the same
    with Store.open(root, _fsync=False) as again:
        rows = again.query("power", DAY - timedelta(hours=3), DAY + timedelta(hours=3))
        assert len(rows) == 2160
    with Store.open(root, readonly=True) as reader:
        rows = reader.query("power", DAY - timedelta(hours=3), DAY + timedelta(hours=3))
        assert len(rows) == 2160


def test_a_gap_day_inside_retention_answers_raw(root):
    with Store.open(root, flush_interval_s=0, _fsync=False) as store:
        store.append_many("power", recs(DAY - timedelta(days=2), 100))  # day -2 has data
        store.append_many("power", recs(DAY, 720))  # day -1 none (hub off), today 1 h
        store.maintain(DAY + timedelta(hours=1, minutes=1))
        rows = store.query("power", DAY - timedelta(hours=5), DAY + timedelta(hours=1))
        assert len(rows) == 720


def test_a_store_from_before_the_marker_marks_only_what_is_gone(root):
    with Store.open(root, flush_interval_s=0, _fsync=False) as store:
        store.append_many("power", recs(DAY, 720))
        store.maintain(DAY + timedelta(hours=1, minutes=1))
    (root / RETENTION).unlink()  # as an older energytui left it
    with Store.open(root, _fsync=False) as store:
        marker = json.loads((root / RETENTION).read_bytes())
        assert marker["raw"]["power"] < "2026-11-25"  # the day with files is not removed
        rows = store.query("power", DAY - timedelta(hours=3), DAY + timedelta(hours=3))
        assert len(rows) == 720


def test_days_really_removed_by_retention_fall_back_to_rollups(root):
    with Store.open(root, flush_interval_s=0, raw_retention_days=2, _fsync=False) as store:
        store.append_many("power", recs(DAY, 720))
        store.maintain(DAY + timedelta(hours=1, minutes=1))
        store.maintain(DAY + timedelta(days=4))  # day 0 is past raw retention
        marker = json.loads((root / RETENTION).read_bytes())
        assert marker["raw"] == {"power": "2026-11-25"}
        rows = store.query("power", DAY, DAY + timedelta(hours=1))
        # from the 1-minute rollups: 60 buckets, not nothing
        assert len(rows) in (60, 61)
        assert "solar_w" in rows[0]
