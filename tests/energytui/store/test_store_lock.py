"""One writer: a second real process gets a read-only store that says so and sees new data."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import pytest

from energytui.store import Store, StoreReadOnly

from .child import BASE, power
from .conftest import child_cmd, child_env, run_child


def test_second_process_is_read_only_and_says_why(root):
    with Store.open(root) as writer:
        writer.append("power", power(1))
        writer.append("power", power(2))
        proc = run_child("probe", root)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["readonly"] is True
        assert (
            out["reason"]
            == f"another energytui (pid {os.getpid()}) is writing this store; opened read-only."
        )
        assert out["append"] == "StoreReadOnly"
        assert out["message"].endswith(".") and "read-only" in out["message"]
        assert out["rows"] == 2  # it reads what the writer has (still in the journal)
    # the lock went with close(): the next process is the writer
    out = json.loads(run_child("probe", root).stdout.strip().splitlines()[-1])
    assert out["readonly"] is False and out["reason"] is None and out["append"] == "ok"


def test_reader_sees_the_writers_new_data(root):
    proc = subprocess.Popen(
        child_cmd("serve", root),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )

    def tell(cmd: str) -> str:
        proc.stdin.write(cmd + "\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    try:
        assert json.loads(proc.stdout.readline())["readonly"] is False
        viewer = Store.open(root)
        assert viewer.readonly
        assert f"pid {proc.pid}" in viewer.readonly_reason
        with pytest.raises(StoreReadOnly):
            viewer.append("power", power(0))
        end = BASE + timedelta(hours=1)

        assert viewer.query("power", BASE, end) == []
        assert tell("append 0 5") == "ok append"  # in the writer's journal only
        assert [r["ts"] for r in viewer.query("power", BASE, end)] == [
            power(i)["ts"] for i in range(5)
        ]
        assert viewer.latest("power") == power(4)
        assert tell("maintain") == "ok maintain"  # now in TinyDB shards, journal emptied
        rows = viewer.query("power", BASE, end)
        assert [r["ts"] for r in rows] == [power(i)["ts"] for i in range(5)]  # no duplicates
        assert tell("append 5 3") == "ok append"
        assert len(viewer.query("power", BASE, end)) == 8
        minutes = viewer.query("power", BASE, end, resolution="1m")
        assert sum(m["count"] for m in minutes) == 8
        assert viewer.latest("power") == power(7)
        assert viewer.stats()["journal_records"] == 3
        viewer.close()
        assert tell("quit") == "bye"
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
