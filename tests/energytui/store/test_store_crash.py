"""SIGKILL a real writer again and again: acknowledged readings survive, the store opens."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from datetime import timedelta

from tinydb import TinyDB

from energytui.store import Store

from .child import BASE, power
from .conftest import child_cmd, child_env

TRIALS = 25


def _kill_at_random(root, start: int, seed: int, rng: random.Random) -> tuple[list[int], bool]:
    """Run a writer that prints each acknowledged reading, SIGKILL it at a random moment.

    Returns the acknowledged readings and whether the kill landed inside maintain().
    """
    proc = subprocess.Popen(
        child_cmd("crash", root, start, seed),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    acked: list[int] = []
    last = [""]
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            line = line.strip()
            last[0] = line
            if line == "ready":
                ready.set()
            elif line.isdigit():
                acked.append(int(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(20), (
            proc.stderr.read() if proc.poll() is not None else "child never got ready"
        )
        # the kill lands at a random moment after the first acknowledgement (on a busy
        # machine the first append can take longer than the shortest wait)
        deadline = time.monotonic() + 10
        while not acked and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.02, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return acked, last[0] == "m"


def test_sigkill_never_loses_an_acknowledged_reading(root):
    rng = random.Random(20261125)
    expected: set[str] = set()
    start = 0
    in_maintain = 0
    for trial in range(TRIALS):
        acked, during = _kill_at_random(root, start, trial, rng)
        in_maintain += during
        assert acked, f"trial {trial}: the writer acknowledged nothing before it was killed"
        expected.update(power(i)["ts"] for i in acked)
        start = acked[-1] + 1

        # the store always opens, and as the writer
        with Store.open(root, raw_retention_days=3650, minute_retention_days=3650) as store:
            assert not store.readonly
            assert not list(root.rglob("*.tmp")), "leftover temp files were not cleaned at open"
            end = BASE + timedelta(seconds=5 * start + 60)
            rows = store.query("power", BASE, end, resolution="raw")
            have = {r["ts"] for r in rows}
            missing = expected - have
            # every acknowledged reading is there (the brief allows the very last one)
            assert len(missing) <= 1 and missing <= {power(acked[-1])["ts"]}, (
                f"trial {trial}: lost {sorted(missing)[:5]}"
            )
            assert len(rows) == len(have)  # no duplicates
            # rollups were folded exactly once: every 1-minute bucket counts its raw readings
            minutes = store.query("power", BASE, end, resolution="1m")
            by_minute: dict[str, int] = {}
            for r in rows:
                by_minute[r["ts"][:16]] = by_minute.get(r["ts"][:16], 0) + 1
            assert {m["ts"][:16]: m["count"] for m in minutes} == by_minute
            latest = store.latest("power")
            assert latest["ts"] == max(have)
        # skip ahead about 2 hours: past anything the killed writer wrote unannounced,
        # and across a few days over the run, so finished days get merged too
        start += 1500

    # every shard file left behind is a whole TinyDB database
    for f in root.rglob("*.json"):
        if f.name != "store.json":
            assert isinstance(TinyDB(f).all(), list)
    # the kills hit folds and merges too, not only appends
    assert in_maintain >= 3, f"only {in_maintain} of {TRIALS} kills landed inside maintain()"
    assert power(start)["ts"][:10] > power(0)["ts"][:10], (
        "the run should cross a day (and merge it)"
    )
