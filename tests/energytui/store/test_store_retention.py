"""Retention deletes whole files past the limits; finished days become one file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tinydb import TinyDB

from energytui.store import Store

from .conftest import shard_files

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def day_records(day: int, per_day: int = 8) -> list[dict]:
    start = DAY0 + timedelta(days=day)
    return [
        {
            "ts": (start + timedelta(hours=24 * k / per_day)).isoformat().replace("+00:00", "Z"),
            "solar_w": float(day),
            "grid_imported_wh": 1000.0 * day + k,
        }
        for k in range(per_day)
    ]


def names(root, level):
    return [p.name for p in shard_files(root, level)]


def test_retention_deletes_whole_files_only_past_the_limits(root):
    with Store.open(
        root, flush_interval_s=0, raw_retention_days=3, minute_retention_days=5
    ) as store:
        for day in range(8):  # days 0..7, maintained as time goes by
            store.append_many("power", day_records(day))
            store.maintain(DAY0 + timedelta(days=day, hours=23, minutes=59))
        now = DAY0 + timedelta(days=8, hours=0, minutes=30)
        store.maintain(now)  # day 7 is over and quiet: merged into one file
        raw = names(root, "raw")
        minute = names(root, "1m")
        # a raw day is deleted once all of it is older than 3 days: days 0..4 end by day 5 00:00
        assert raw == [f"2026-01-{d:02d}.json" for d in range(6, 9)]
        assert minute == [f"2026-01-{d:02d}.json" for d in range(4, 9)]
        # 15-minute and daily rollups are kept, whatever their age
        assert [n for n in names(root, "15m") if "." in n[7:]]  # 2026-01 (segments or base)
        days = store.query("power", DAY0, now, resolution="1d")
        assert [d["solar_w"] for d in days] == [float(d) for d in range(8)]

        kept = {p: p.stat().st_ino for p in shard_files(root, "raw") + shard_files(root, "1m")}
        store.maintain(now + timedelta(days=1))  # one more day: one more file each goes
        assert names(root, "raw") == [f"2026-01-{d:02d}.json" for d in range(7, 9)]
        assert names(root, "1m") == [f"2026-01-{d:02d}.json" for d in range(5, 9)]
        # the files that stayed were not rewritten
        for p in shard_files(root, "raw") + shard_files(root, "1m"):
            assert kept[p] == p.stat().st_ino

        # old ranges: raw is gone, auto falls back to a rollup that still has them
        assert store.query("power", DAY0, DAY0 + timedelta(hours=6), resolution="raw") == []
        rows = store.query("power", DAY0 + timedelta(days=1), DAY0 + timedelta(days=1, hours=6))
        assert rows and rows[0]["count"] >= 1 and rows[0]["solar_w"] == 1.0


def test_a_finished_day_becomes_one_tinydb_file(root):
    with Store.open(root, flush_interval_s=0) as store:
        for k in range(40):  # 40 folds: many small segments during the day
            store.append_many("power", day_records(0, per_day=40)[k : k + 1])
            store.maintain(DAY0 + timedelta(hours=k * 0.6, minutes=1))
        during = names(root, "raw")
        assert all(n.startswith("2026-01-01.") for n in during)
        assert len(during) < 40  # merged along the way
        store.maintain(DAY0 + timedelta(days=1, minutes=20))
        assert names(root, "raw") == ["2026-01-01.json"]
        assert names(root, "1m") == ["2026-01-01.json"]
        docs = TinyDB(root / "raw" / "power" / "2026-01-01.json").all()
        assert len(docs) == 40
        assert len(store.query("power", DAY0, DAY0 + timedelta(days=1), resolution="raw")) == 40


def test_maintain_is_cheap_when_there_is_nothing_to_do(root):
    with Store.open(root, flush_interval_s=60) as store:
        store.append_many("power", day_records(0))
        store.maintain(DAY0 + timedelta(days=1))
        written = store.stats()["bytes_written"]
        for minute in range(1, 30):
            store.maintain(DAY0 + timedelta(days=1, minutes=minute))
        # the finished day merged once (after 10 quiet minutes); nothing else was written
        merged = store.stats()["bytes_written"] - written
        assert merged < 20_000
        again = store.stats()["bytes_written"]
        store.maintain(DAY0 + timedelta(days=1, minutes=40))
        assert store.stats()["bytes_written"] == again


def test_flush_interval_batches_folds(root):
    with Store.open(root, flush_interval_s=60) as store:
        t = DAY0
        store.append_many("power", day_records(0)[:1])
        store.maintain(t)  # first fold
        assert store.stats()["journal_records"] == 0
        store.append_many("power", day_records(0)[1:2])
        store.maintain(t + timedelta(seconds=30))
        assert store.stats()["journal_records"] == 1  # not yet: 30 s < 60 s
        store.maintain(t + timedelta(seconds=61))
        assert store.stats()["journal_records"] == 0


def test_late_reading_for_a_day_past_retention_is_merged_into_the_rollups(root):
    with Store.open(
        root, flush_interval_s=0, raw_retention_days=2, minute_retention_days=3
    ) as store:
        store.append_many("power", day_records(0, per_day=96))  # one every 15 minutes
        store.maintain(DAY0 + timedelta(days=5))
        assert names(root, "raw") == [] and names(root, "1m") == []
        q_before = store.query("power", DAY0, DAY0, resolution="15m")[0]
        d_before = store.query("power", DAY0, DAY0, resolution="1d")[0]
        late = {"ts": "2026-01-01T00:00:30.000Z", "solar_w": 96.0, "grid_imported_wh": 5.0}
        store.append("power", late)  # e.g. a meter agent uploading an old backlog
        store.maintain(DAY0 + timedelta(days=5, minutes=1))
        assert names(root, "raw") == []  # retention removed the late raw file again
        q_after = store.query("power", DAY0, DAY0, resolution="15m")[0]
        d_after = store.query("power", DAY0, DAY0, resolution="1d")[0]
    assert q_after["count"] == q_before["count"] + 1 == 2
    assert q_after["solar_w"] == (q_before["solar_w"] + 96.0) / 2
    assert d_after["count"] == d_before["count"] + 1
