"""The agent's history file: durable, queryable, bounded, tolerant of a torn last line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from meter_agent.history import History, HistoryRecord, new_reading_id

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def rec(minute: int, kwh: float | None, reason: str | None = None) -> HistoryRecord:
    ts = T0 + timedelta(minutes=minute)
    return HistoryRecord(
        id=new_reading_id(ts),
        timestamp=ts,
        accepted=kwh is not None,
        reading_kwh=kwh,
        digits=None if kwh is None else f"{int(kwh):06d}",
        confidence=0.97 if kwh is not None else 0.3,
        method="seven_segment",
        reason=reason,
        per_digit=[("1", 0.9), (None, 0.1)],
    )


def test_records_survive_a_restart_with_last_accepted(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.add(rec(0, 1000.0))
    h.add(rec(1, 1001.0))
    h.add(rec(2, None, "low_confidence: digit 3 is 0.41 sure"))
    again = History(tmp_path)
    assert len(again) == 3
    last = again.last_accepted()
    assert last is not None and last.reading_kwh == 1001.0 and last.digits == "001001"
    assert again.last().reason == "low_confidence: digit 3 is 0.41 sure"
    assert again.counts() == {
        "accepted": 2,
        "rejected": {"low_confidence": 1},
        "rejected_total": 1,
    }
    assert again.query(include_rejected=True)[0].per_digit == [("1", 0.9), (None, 0.1)]


def test_query_since_limit_and_rejected(tmp_path: Path) -> None:
    h = History(tmp_path)
    for m in range(10):
        h.add(rec(m, None if m % 3 == 2 else 1000.0 + m, "rate too high" if m % 3 == 2 else None))
    accepted = h.query(limit=100)
    assert [r.reading_kwh for r in accepted] == [1000, 1001, 1003, 1004, 1006, 1007, 1009]
    assert [r.reading_kwh for r in h.query(limit=2)] == [1007, 1009]  # the latest two
    after = h.query(since=T0 + timedelta(minutes=4), limit=2)  # strictly later, oldest first
    assert [r.reading_kwh for r in after] == [1006, 1007]
    everything = h.query(since=T0 + timedelta(minutes=4), limit=100, include_rejected=True)
    assert [r.reason for r in everything] == ["rate too high", None, None, "rate too high", None]


def test_history_is_bounded_on_disk_and_in_memory(tmp_path: Path) -> None:
    h = History(tmp_path, max_records=10)
    for m in range(40):
        h.add(rec(m, 2000.0 + m))
    assert len(h) == 10
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert 10 <= len(lines) <= 13
    again = History(tmp_path, max_records=10)
    assert [r.reading_kwh for r in again.query(limit=100)] == [2030.0 + i for i in range(10)]


def test_torn_last_line_after_power_cut_is_skipped(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.add(rec(0, 5.0))
    with open(tmp_path / "history.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"id": "x", "timestamp": "2026-11-25T08:0')  # no newline: the write was cut
    again = History(tmp_path)
    assert len(again) == 1
    again.add(rec(1, 6.0))  # appending after a torn line still gives readable records
    assert [r.reading_kwh for r in History(tmp_path).query()] == [5.0, 6.0]


def test_reading_ids_are_unique_and_wire_safe() -> None:
    ids = {new_reading_id(T0) for _ in range(200)}
    assert len(ids) > 190
    assert all(i.startswith("20261125T080000.000Z-") for i in ids)
    r = rec(0, 12.5).to_meter_reading()
    assert r.id and r.reading_kwh == 12.5 and r.digits == "000012"


def test_a_rejection_is_kept_as_its_code_colon_text(tmp_path: Path) -> None:
    from meter_agent.checks import LOW_CONFIDENCE, Rejection
    from meter_agent.history import record_from_result
    from meter_agent.reader import ReadResult

    result = ReadResult(
        ts=T0,
        digits=None,
        reading_kwh=None,
        confidence=0.41,
        accepted=False,
        reason=Rejection(LOW_CONFIDENCE, "confidence 0.41 is below the threshold 0.80"),
        method="cnn",
    )
    record = record_from_result(result)
    assert record.reason == "low_confidence: confidence 0.41 is below the threshold 0.80"
    h = History(tmp_path)
    h.add(record)
    line = (tmp_path / "history.jsonl").read_text()
    assert '"reason":"low_confidence: confidence 0.41 is below the threshold 0.80"' in line
    assert h.counts()["rejected"] == {"low_confidence": 1}


def test_a_late_record_keeps_last_and_last_accepted_by_time(tmp_path: Path) -> None:
    h = History(tmp_path, max_records=3)
    h.add(rec(5, 1005.0))
    h.add(rec(6, None, "low_confidence: digit 2"))
    h.add(rec(3, 1003.0))  # older than the rest (a clock step back)
    assert h.last().reason == "low_confidence: digit 2"
    assert h.last_accepted().reading_kwh == 1005.0
    h.add(rec(1, 1001.0))  # older than all and over the bound: pushed out at once
    assert len(h) == 3 and h.last_accepted().reading_kwh == 1005.0
    h.add(rec(7, 1007.0))  # the newest: the oldest kept one (minute 3) goes
    assert [r.reading_kwh for r in h.query(include_rejected=True)] == [1005.0, None, 1007.0]
    assert h.last_accepted().reading_kwh == 1007.0
    r8 = rec(8, None, "not_monotonic: lower")
    h.add(r8)
    assert h.last().reason == "not_monotonic: lower" and h.last_accepted().reading_kwh == 1007.0
    assert h.counts()["rejected"] == {"low_confidence": 1, "not_monotonic": 1}
    # what the queries hand back equals what was added, field for field
    again = History(tmp_path, max_records=3)
    assert again.query(include_rejected=True) == h.query(include_rejected=True)
    assert again.query(include_rejected=True)[-1] == r8 and again.last() == r8
