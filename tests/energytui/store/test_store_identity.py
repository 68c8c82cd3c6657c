"""The writer lock is bound to the store directory, and a writer whose journal is
deleted or replaced stops writing instead of appending to a file nobody can read.

(Issue 14, finding 1: deleting ``.writer.lock`` let a second writer in; it folded
and deleted the first one's journal while the first kept appending to it.)
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from energytui.store import Store, StoreError
from energytui.store.journal import CURRENT

from .child import BASE, power
from .conftest import run_child


def _all(store: Store) -> list[str]:
    return [r["ts"] for r in store.query("power", BASE, BASE + timedelta(days=1), resolution="raw")]


def test_deleting_the_lock_file_lets_no_second_writer_in(root):
    with Store.open(root, _fsync=False) as first:
        first.append("power", power(1))
        (root / ".writer.lock").unlink()
        # a second real process: it must be a reader, and say who writes
        out = json.loads(run_child("probe", root).stdout.strip().splitlines()[-1])
        assert out["readonly"] is True, out
        assert out["append"] == "StoreReadOnly"
        # and a second Store in this process too (flock is per open file description)
        second = Store.open(root, _fsync=False)
        try:
            assert second.readonly and second.writer_elsewhere
        finally:
            second.close()
        first.append("power", power(2))
        first.maintain(BASE + timedelta(hours=1))
    with Store.open(root, readonly=True) as reader:
        assert _all(reader) == [power(1)["ts"], power(2)["ts"]]


def test_a_writer_whose_journal_is_deleted_stops_loudly(root, caplog):
    store = Store.open(root, _fsync=False)
    try:
        store.append("power", power(1))
        (root / CURRENT).unlink()
        with pytest.raises(StoreError) as err:
            store.append("power", power(2))
        assert "was deleted" in str(err.value) and str(err.value).endswith(".")
        assert store.stopped == str(err.value)
        with pytest.raises(StoreError):  # it stays stopped
            store.append("power", power(3))
        assert sum("stopped writing the store" in r.getMessage() for r in caplog.records) == 1
        unsaved = store.unsaved()
        assert [r["ts"] for r in unsaved["power"]] == [power(1)["ts"]]
        # it still answers with what it holds
        assert _all(store) == [power(1)["ts"]]
    finally:
        store.close()
    # opened anew, the unsaved records are written again: nothing acknowledged is lost
    with Store.open(root, _fsync=False) as again:
        assert not again.readonly
        for series, recs in unsaved.items():
            again.append_many(series, recs)
        assert _all(again) == [power(1)["ts"]]


def test_a_writer_whose_journal_is_replaced_stops(root):
    store = Store.open(root, _fsync=False)
    try:
        store.append("power", power(1))
        os.replace(root / CURRENT, root / "elsewhere.jsonl")
        (root / CURRENT).write_bytes(b'{"energytui_journal": 1, "gen": "x"}\n')
        with pytest.raises(StoreError, match="was replaced"):
            store.append("power", power(2))
        with pytest.raises(StoreError, match="stopped writing"):
            store.maintain(BASE + timedelta(hours=1))
        # nothing of this writer went into the new file
        assert (root / CURRENT).read_bytes().count(b"\n") == 1
    finally:
        store.close()
