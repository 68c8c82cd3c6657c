"""Recovery at open: torn journal lines, damaged shards, leftover temp files."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import timedelta

from tinydb import TinyDB

from energytui.store import Store

from .conftest import T0, sample, shard_files


def crashed_copy(root, tmp_path, name="crashed"):
    """The files exactly as a SIGKILL would leave them (the writer never closed)."""
    dest = tmp_path / name
    shutil.copytree(root, dest)
    return dest


def test_torn_last_journal_line_is_dropped_and_complete_lines_kept(root, tmp_path, caplog):
    store = Store.open(root)
    store.append_many("power", [sample(i) for i in range(5)])
    crashed = crashed_copy(root, tmp_path)
    store.close()
    journal = crashed / "journal.jsonl"
    whole = journal.read_bytes()
    line = json.dumps({"s": "power", "r": sample(5)}).encode()
    journal.write_bytes(whole + line[: len(line) // 2])  # killed in the middle of an append

    caplog.set_level(logging.WARNING, logger="energytui.store")
    with Store.open(crashed) as again:
        rows = again.query("power", T0, T0 + timedelta(hours=1))
        assert [r["ts"] for r in rows] == [sample(i)["ts"] for i in range(5)]
        assert "torn last line" in caplog.text
        again.append("power", sample(6))  # appends after the cut are clean lines
        assert len(again.query("power", T0, T0 + timedelta(hours=1))) == 6
    with Store.open(crashed) as third:
        assert len(third.query("power", T0, T0 + timedelta(hours=1))) == 6


def test_damaged_complete_line_is_skipped_and_the_rest_kept(root, tmp_path, caplog):
    store = Store.open(root)
    store.append_many("power", [sample(i) for i in range(3)])
    crashed = crashed_copy(root, tmp_path)
    store.close()
    journal = crashed / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines.insert(2, b'{"s": "power", "r": {"ts": garbage}\n')
    journal.write_bytes(b"".join(lines))
    caplog.set_level(logging.WARNING, logger="energytui.store")
    with Store.open(crashed) as again:
        assert len(again.query("power", T0, T0 + timedelta(hours=1))) == 3
    assert "skipped 1 damaged line" in caplog.text


def test_journal_left_by_a_crash_is_folded_once(root, tmp_path):
    with Store.open(root, flush_interval_s=0) as store:
        store.append_many("power", [sample(i) for i in range(24)])
        store.maintain(T0 + timedelta(hours=1))
        store.append_many("power", [sample(i) for i in range(24, 36)])
        crashed = crashed_copy(root, tmp_path)
    # as if the crash came after the shards were written but before the journal was
    # emptied: put the already-folded lines back into the journal too
    journal = crashed / "journal.jsonl"
    extra = b"".join(
        json.dumps({"s": "power", "r": sample(i)}, separators=(",", ":")).encode() + b"\n"
        for i in range(12, 24)
    )
    journal.write_bytes(journal.read_bytes() + extra)
    with Store.open(crashed) as again:
        rows = again.query("power", T0, T0 + timedelta(hours=1))
        assert [r["ts"] for r in rows] == [sample(i)["ts"] for i in range(36)]
        minutes = again.query("power", T0, T0 + timedelta(hours=1), resolution="1m")
        assert [m["count"] for m in minutes] == [12, 12, 12]  # nothing counted twice


def test_damaged_shard_is_moved_aside_and_the_store_opens(root, caplog):
    with Store.open(root, flush_interval_s=0) as store:
        for day in range(3):
            store.append_many(
                "power", [sample(i, start=T0 + timedelta(days=day)) for i in range(10)]
            )
            store.maintain(T0 + timedelta(days=day, hours=1))
        store.maintain(T0 + timedelta(days=3))  # days 0-2 become single files
    day0, day1, day2 = (root / "raw" / "power" / f"2026-11-{d}.json" for d in (25, 26, 27))
    assert day0.exists() and day1.exists() and day2.exists()
    day0.write_bytes(day0.read_bytes()[:-40])  # cut short: caught at open
    text = day1.read_text()
    day1.write_text(text.replace('{"_default":{', '{"_default":{]', 1))  # caught when read

    caplog.set_level(logging.WARNING, logger="energytui.store")
    with Store.open(root) as store:
        assert not day0.exists()
        aside = list(day0.parent.glob("2026-11-25.json.corrupt-*"))
        assert len(aside) == 1 and aside[0].stat().st_size > 0  # moved, never deleted
        assert "moved it aside" in caplog.text
        rows = store.query(
            "power", T0 - timedelta(hours=1), T0 + timedelta(days=3), resolution="raw"
        )
        # day 0 and day 1 are lost from raw (kept aside); day 2 is whole
        assert [r["ts"] for r in rows] == [
            sample(i, start=T0 + timedelta(days=2))["ts"] for i in range(10)
        ]
        assert list(day1.parent.glob("2026-11-26.json.corrupt-*"))
        # the rollups of those days are separate files and still there
        assert len(store.query("power", T0, T0 + timedelta(days=2), resolution="1d")) == 3
        # and the store keeps working
        store.append("power", sample(0, start=T0 + timedelta(days=4)))
    for f in shard_files(root):
        TinyDB(f).all()


def test_leftover_temp_files_are_removed_at_open(root):
    with Store.open(root, flush_interval_s=0) as store:
        store.append("power", sample(0))
        store.maintain(T0 + timedelta(hours=1))
    leftovers = [
        root / "raw" / "power" / "2026-11-25.json.1a2b3c4d.tmp",
        root / "journal.jsonl.deadbeef.tmp",
    ]
    for p in leftovers:
        p.write_text('{"_default": {')
    with Store.open(root) as store:
        assert not any(p.exists() for p in leftovers)
        assert store.query("power", T0, T0) == [sample(0)]


def test_a_reader_skips_damaged_files_without_moving_them(root, caplog):
    with Store.open(root, flush_interval_s=0) as store:
        store.append("power", sample(0))
        store.maintain(T0 + timedelta(hours=1))
        (f,) = shard_files(root)
        f.write_text("{not json")
        caplog.set_level(logging.WARNING, logger="energytui.store")
        with Store.open(root, readonly=True) as viewer:
            assert viewer.query("power", T0, T0 + timedelta(hours=1)) == []
            assert f.exists()  # a reader never renames the writer's files
        assert "damaged" in caplog.text
