"""Round trips, validation, queries and resolutions, on real files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tinydb import TinyDB

from energytui.model import PowerSample
from energytui.store import Store, StoreError, StoreReadOnly

from .conftest import T0, sample, shard_files


def test_round_trip_through_journal_and_shards(root):
    recs = [sample(i) for i in range(30)]
    with Store.open(root) as store:
        for rec in recs:
            store.append("power", rec)
        # before any fold: served from the journal
        assert store.query("power", T0, T0 + timedelta(hours=1)) == recs
        assert store.stats()["journal_records"] == 30
    # close folded the journal into TinyDB shard files
    files = shard_files(root)
    assert files
    docs = [doc for f in files for doc in TinyDB(f).all()]  # a plain TinyDB reads them
    assert sorted(d["ts"] for d in docs) == [r["ts"] for r in recs]
    with Store.open(root) as store:
        got = store.query("power", T0, T0 + timedelta(hours=1))
        assert got == recs
        assert store.stats()["journal_records"] == 0
        assert PowerSample.from_record(got[3]) == PowerSample.from_record(recs[3])
        assert store.latest("power") == recs[-1]


def test_datetime_ts_is_stored_as_iso_z(root):
    with Store.open(root) as store:
        store.append(
            "meter",
            {"ts": datetime(2026, 11, 25, 9, 30, 1, 250000, tzinfo=UTC), "reading_kwh": 1.5},
        )
        store.append("meter", {"ts": "2026-11-25T10:30:01.5+01:00", "reading_kwh": 1.6})
        rows = store.query("meter", T0, T0 + timedelta(hours=3))
    assert [r["ts"] for r in rows] == ["2026-11-25T09:30:01.250Z", "2026-11-25T09:30:01.500Z"]


def test_query_is_sorted_and_bounded(root):
    with Store.open(root, flush_interval_s=0) as store:
        store.append_many("power", [sample(i) for i in range(20, 40)])
        store.maintain(T0 + timedelta(hours=1))
        store.append_many("power", [sample(i) for i in reversed(range(0, 20))])  # out of order
        rows = store.query("power", T0 + timedelta(seconds=50), T0 + timedelta(seconds=100))
        assert [r["ts"] for r in rows] == [sample(i)["ts"] for i in range(10, 21)]  # inclusive ends
        everything = store.query(
            "power", T0 - timedelta(days=1), T0 + timedelta(hours=1), resolution="raw"
        )
        assert [r["ts"] for r in everything] == [sample(i)["ts"] for i in range(40)]
        assert store.query("power", T0 + timedelta(hours=1), T0) == []
        assert store.query("nothing_here", T0, T0 + timedelta(hours=1)) == []


def test_same_ts_twice_keeps_the_last(root):
    with Store.open(root, flush_interval_s=0) as store:
        store.append("power", sample(0, solar=1.0))
        store.maintain(T0)
        store.append("power", sample(0, solar=2.0))
        assert [r["solar_w"] for r in store.query("power", T0, T0)] == [2.0]
        store.maintain(T0 + timedelta(minutes=2))
        assert [r["solar_w"] for r in store.query("power", T0, T0)] == [2.0]


@pytest.mark.parametrize(
    ("series", "record", "words"),
    [
        ("Power", sample(0), "series name"),
        ("power", {"solar_w": 1.0}, "no 'ts'"),
        ("power", {"ts": "yesterday"}, "ISO 8601"),
        ("power", {"ts": "2026-11-25T08:00:00"}, "time zone"),
        ("power", {"ts": datetime(2026, 11, 25)}, "time zone"),
        ("power", {"ts": "2026-11-25T08:00:00Z", "nested": {"a": 1}}, "holds a dict"),
        ("power", {"ts": "2026-11-25T08:00:00Z", "count": 3}, "not allowed"),
        ("power", {"ts": "2026-11-25T08:00:00Z", "_n": 3}, "not allowed"),
        ("power", ["not", "a", "dict"], "must be a dict"),
    ],
)
def test_bad_record_raises_one_sentence_and_writes_nothing(root, series, record, words):
    with Store.open(root) as store:
        before = store.stats()["bytes_written"]
        with pytest.raises(StoreError) as err:
            store.append(series, record)
        msg = str(err.value)
        assert words in msg
        assert msg.endswith(".") and "\n" not in msg
        assert store.stats()["bytes_written"] == before
        assert store.stats()["journal_records"] == 0


def test_append_many_is_all_or_nothing(root):
    with Store.open(root) as store:
        with pytest.raises(StoreError):
            store.append_many("power", [sample(0), sample(1), {"ts": "nope"}])
        assert store.query("power", T0, T0 + timedelta(hours=1)) == []
        store.append_many("power", [sample(0), sample(1)])
        assert len(store.query("power", T0, T0 + timedelta(hours=1))) == 2


def test_nan_becomes_none(root):
    with Store.open(root) as store:
        store.append(
            "power", {"ts": "2026-11-25T08:00:00Z", "solar_w": float("nan"), "x": float("inf")}
        )
        assert store.latest("power") == {
            "ts": "2026-11-25T08:00:00.000Z",
            "solar_w": None,
            "x": None,
        }
    for line in (root / "journal.jsonl").read_text().splitlines():
        json.loads(line)  # strict JSON, no NaN


def test_auto_resolution_follows_the_span(root):
    with Store.open(root, flush_interval_s=0) as store:
        store.append_many("power", [sample(i, step_s=60) for i in range(0, 3 * 24 * 60)])
        store.maintain(T0 + timedelta(days=3))

        def kind(rows):
            return "raw" if "count" not in rows[0] else rows[1:2] and _width(rows)

        def _width(rows):
            a, b = (datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in rows[:2])
            return {60: "1m", 900: "15m", 86400: "1d"}.get(int((b - a).total_seconds()), "?")

        assert kind(store.query("power", T0, T0 + timedelta(hours=6))) == "raw"
        assert kind(store.query("power", T0, T0 + timedelta(hours=7))) == "1m"
        assert kind(store.query("power", T0, T0 + timedelta(days=3))) == "1m"
        assert kind(store.query("power", T0 - timedelta(days=5), T0 + timedelta(days=3))) == "15m"
        assert kind(store.query("power", T0 - timedelta(days=91), T0 + timedelta(days=3))) == "1d"
        for res in ("raw", "1m", "15m", "1d"):
            rows = store.query("power", T0, T0 + timedelta(days=3), resolution=res)
            assert rows and (res == "raw") == ("count" not in rows[0])
        with pytest.raises(StoreError, match="resolution"):
            store.query("power", T0, T0 + timedelta(hours=1), resolution="5m")


def test_max_points_downsamples_evenly_with_means(root):
    with Store.open(root) as store:
        store.append_many("power", [sample(i) for i in range(720)])  # one hour, solar_w = i
        rows = store.query("power", T0, T0 + timedelta(seconds=5 * 719), max_points=10)
        assert len(rows) == 10
        assert [r["count"] for r in rows] == [72] * 10
        assert rows[0]["solar_w"] == pytest.approx(sum(range(72)) / 72)
        assert rows[0]["ts"] == "2026-11-25T08:00:00.000Z"
        assert rows[1]["ts"] == "2026-11-25T08:06:00.000Z"
        assert rows[-1]["solar_produced_wh"] == sample(719)["solar_produced_wh"]  # counters: last
        assert rows[0]["min"]["solar_w"] == 0.0 and rows[0]["max"]["solar_w"] == 71.0
        # fewer rows than max_points: untouched
        assert len(store.query("power", T0, T0 + timedelta(seconds=20), max_points=10)) == 5
        with pytest.raises(StoreError, match="max_points"):
            store.query("power", T0, T0 + timedelta(hours=1), max_points=0)


def test_latest_survives_restart_and_prefers_newest_ts(root):
    with Store.open(root) as store:
        assert store.latest("power") is None
        store.append("power", sample(5))
        store.append("power", sample(2))  # an older reading arriving late
        assert store.latest("power")["ts"] == sample(5)["ts"]
    with Store.open(root) as store:
        assert store.latest("power")["ts"] == sample(5)["ts"]
        store.append("power", sample(9))
        assert store.latest("power")["ts"] == sample(9)["ts"]


def test_meter_records_as_the_hub_writes_them(root):
    rec = {
        "reading_kwh": 12345.6,
        "confidence": 0.97,
        "method": "tesseract+7seg",
        "digits": "0123456",
        "id": "agent-1:42",
        "ts": "2026-11-25T08:22:39.431Z",
    }
    with Store.open(root) as store:
        store.append("meter", rec)
    with Store.open(root) as store:
        assert store.latest("meter") == {
            "ts": rec["ts"],
            **{k: v for k, v in rec.items() if k != "ts"},
        }
        assert store.series() == ["meter"]


def test_closed_store_and_stats(root):
    store = Store.open(root)
    store.append("power", sample(0))
    stats = store.stats()
    assert stats["bytes_written"] >= stats["bytes_written_by_kind"]["journal"] > 0
    assert stats["files"] >= 3 and stats["bytes_on_disk"] > 0
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.append("power", sample(1))
    with pytest.raises(StoreError, match="closed"):
        store.query("power", T0, T0)


def test_readonly_on_request(root):
    with Store.open(root) as store:
        store.append("power", sample(0))
        with Store.open(root, readonly=True) as viewer:
            assert viewer.readonly and viewer.readonly_reason == "opened read-only as requested."
            assert viewer.query("power", T0, T0) == [sample(0)]
            with pytest.raises(StoreReadOnly) as err:
                viewer.append("power", sample(1))
            assert str(err.value).count(".") >= 1 and "\n" not in str(err.value)
            viewer.maintain()  # nothing to do, no error


def test_open_errors_are_one_sentence(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(StoreError) as err:
        Store.open(afile)
    assert "is a file" in str(err.value) and str(err.value).endswith(".")
    with pytest.raises(StoreError, match="no energytui store"):
        Store.open(tmp_path / "missing", readonly=True)
    with pytest.raises(StoreError, match="raw_retention_days"):
        Store.open(tmp_path / "s", raw_retention_days=0)
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "store.json").write_text(json.dumps({"format": "energytui-store", "version": 99}))
    with pytest.raises(StoreError, match="newer"):
        Store.open(newer)
    # the failed open released its lock: a good open now works
    (newer / "store.json").write_text(json.dumps({"format": "energytui-store", "version": 1}))
    with Store.open(newer) as store:
        assert not store.readonly


def test_threads_append_while_maintaining(root):
    import threading

    with Store.open(root, flush_interval_s=0) as store:
        errors = []

        def writer(base):
            try:
                for i in range(base, base + 200):
                    store.append("power", sample(i))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(b,)) for b in (0, 200)]
        for t in threads:
            t.start()
        for _ in range(20):
            store.maintain(T0 + timedelta(hours=1))
        for t in threads:
            t.join()
        store.maintain(T0 + timedelta(hours=2))
        assert not errors
        assert len(store.query("power", T0, T0 + timedelta(hours=1))) == 400
    with Store.open(root) as store:
        assert len(store.query("power", T0, T0 + timedelta(hours=1))) == 400
        minutes = store.query("power", T0, T0 + timedelta(hours=1), resolution="1m")
        assert sum(m["count"] for m in minutes) == 400
