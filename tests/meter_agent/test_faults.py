"""Nothing the agent confirmed is ever lost: a full card, an I/O error, a short write or a
power cut at any write leaves every file readable and every acknowledged reading there
after a restart.

The faults are injected at the agent's one storage seam (:data:`meter_agent.files.ops`:
write, fsync, rename, truncate) on real files. The same faults in a real ``meter-agent serve``: test_lost_readings.py.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meter_agent import files
from meter_agent.history import History, HistoryRecord
from meter_agent.upload import Outbox

T0 = datetime(2026, 11, 1, tzinfo=UTC)


# --- the fault harness at the storage seam --------------------------------------------------
class FaultyOps(files.Ops):
    """Fails the chosen calls at random (seeded), and remembers how much of each file was
    fsync'd, for the power-cut model."""

    def __init__(self, rng: random.Random, fail: dict[str, float], kind: str) -> None:
        self.rng, self.fail, self.kind = rng, fail, kind
        self.enabled = True
        self.synced: dict[str, int] = {}
        self.injected = 0

    def _maybe_fail(self, op: str) -> None:
        if self.enabled and self.rng.random() < self.fail.get(op, 0.0):
            self.injected += 1
            code = errno.EIO if self.kind == "EIO" else errno.ENOSPC
            raise OSError(code, os.strerror(code))

    def write(self, fd: int, data: bytes) -> int:
        if self.enabled and self.kind == "short" and len(data) > 1 and self.rng.random() < 0.5:
            # a short write: the card took part of it; what follows may fail (full)
            n = os.write(fd, data[: self.rng.randrange(1, len(data))])
            self._maybe_fail("write")
            return n
        self._maybe_fail("write")
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        self._maybe_fail("fsync")
        os.fsync(fd)
        with contextlib.suppress(OSError):
            self.synced[os.readlink(f"/proc/self/fd/{fd}")] = os.fstat(fd).st_size

    def replace(self, src: str | Path, dst: str | Path) -> None:
        self._maybe_fail("replace")
        os.replace(src, dst)
        size = os.stat(dst).st_size  # the renamed file was fsync'd whole before the rename
        self.synced[str(Path(dst).resolve())] = size

    def ftruncate(self, fd: int, length: int) -> None:
        self._maybe_fail("ftruncate")
        os.ftruncate(fd, length)


@pytest.fixture
def faulty() -> Iterator[list[FaultyOps]]:
    """Install a FaultyOps made by the test; the real calls come back afterwards."""
    holder: list[FaultyOps] = []
    before = files.ops
    yield holder
    files.ops = before
    files._dirty.clear()  # a restart starts with a clean slate; so does the next test


def record(i: int) -> HistoryRecord:
    ts = T0 + timedelta(minutes=i)
    return HistoryRecord(
        id=f"r{i:05d}",
        timestamp=ts,
        accepted=True,
        reading_kwh=float(100000 + i),
        digits=f"{100000 + i:06d}",
        confidence=0.99,
        method="cnn",
        per_digit=[("1", 0.99)] * 6,
    )


def workload(data: Path, ops: FaultyOps, steps: int, cut_at: int | None = None) -> list[str]:
    """Record readings as the agent does (history, outbox, state file), under faults;
    returns the ids acknowledged (the history append returned). ``cut_at``: stop there,
    as a power cut would, leaving whatever the files hold."""
    history = History(data, max_records=20)  # small: compaction (a rename) happens often
    outbox = Outbox(data)
    acked: list[str] = []
    for i in range(steps):
        if cut_at is not None and i == cut_at:
            break
        rec = record(i)
        try:
            history.add(rec)
        except OSError:
            continue
        acked.append(rec.id)
        try:
            outbox.add(rec.to_meter_reading())
            if i % 3 == 0:
                outbox.mark_delivered(rec.id)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            files.write_atomically(
                data / "reader_state.json", json.dumps({"last_digits": rec.digits}).encode()
            )
    assert ops.injected > 0 or ops.kind == "short", "no fault was injected"
    return acked


def assert_all_readable(data: Path) -> None:
    for name in ("history.jsonl", "outbox.jsonl", "outbox.delivered"):
        path = data / name
        if not path.exists():
            continue
        raw = path.read_bytes()
        assert not raw or raw.endswith(b"\n"), f"{name} ends in a torn line"
        for line in raw.decode("utf-8").splitlines():
            if name.endswith(".jsonl"):
                assert isinstance(json.loads(line), dict), f"{name}: {line!r}"
            else:
                assert line.startswith("r"), f"{name}: {line!r}"
    state = data / "reader_state.json"
    if state.exists():
        assert json.loads(state.read_text())["last_digits"]


def assert_acknowledged_kept(data: Path, acked: list[str]) -> None:
    history = History(data, max_records=20)
    kept = [r.id for r in history.query(limit=20)]
    assert kept == acked[-20:]
    pending = {r.id for r in Outbox(data).pending()}
    delivered_file = data / "outbox.delivered"
    delivered = set(delivered_file.read_text().split()) if delivered_file.exists() else set()
    # every queued reading is either pending or delivered; a lost queue line only means
    # the reading is still in the history (it is queued again by nobody: nothing to check)
    assert not (pending & delivered)


CASES = [
    ("write", "ENOSPC"),
    ("write", "EIO"),
    ("write", "short"),
    ("fsync", "EIO"),
    ("fsync", "ENOSPC"),
    ("replace", "ENOSPC"),
    ("replace", "EIO"),
    ("ftruncate", "EIO"),
]


@pytest.mark.parametrize(("op", "kind"), CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_at_the_storage_seam_lose_nothing_acknowledged(
    tmp_path: Path, faulty: list[FaultyOps], op: str, kind: str, seed: int
) -> None:
    fail = {op: 0.25}
    if op == "ftruncate":  # truncating is what repairs a failed write: fail both
        fail["write"] = 0.25
    ops = FaultyOps(random.Random(seed), fail, kind)
    faulty.append(ops)
    files.ops = ops
    acked = workload(tmp_path, ops, steps=80)
    ops.enabled = False
    assert len(acked) > 10
    # the agent goes on after the faults: one more reading, with a sound card
    history = History(tmp_path, max_records=20)
    history.add(record(1000))
    acked.append("r01000")
    files._dirty.clear()  # a restart: the process and its memory are gone
    assert_all_readable(tmp_path)
    assert_acknowledged_kept(tmp_path, acked)


@pytest.mark.parametrize("seed", range(12))
def test_a_power_cut_at_a_random_point_loses_nothing_acknowledged(
    tmp_path: Path, faulty: list[FaultyOps], seed: int
) -> None:
    """The power-cut model: every file is cut back to a random length between what was
    last fsync'd and what was written (the card's cache lost any part of the rest), at a
    random moment, with some writes failing before it."""
    rng = random.Random(seed)
    ops = FaultyOps(rng, {"write": 0.1, "fsync": 0.05, "replace": 0.05}, "ENOSPC")
    faulty.append(ops)
    files.ops = ops
    acked = workload(tmp_path, ops, steps=80, cut_at=rng.randrange(5, 80))
    ops.enabled = False
    for path in tmp_path.iterdir():
        size = path.stat().st_size
        synced = ops.synced.get(str(path.resolve()), 0)
        if size > synced:
            os.truncate(path, rng.randint(synced, size))
    files._dirty.clear()  # a restart: the process and its memory are gone
    assert_acknowledged_kept(tmp_path, acked)  # loading repairs the torn tails
    History(tmp_path, max_records=20)
    Outbox(tmp_path)
    assert_all_readable(tmp_path)


def test_a_reading_the_outbox_could_not_take_is_queued_before_the_next(
    tmp_path: Path, faulty: list[FaultyOps]
) -> None:
    """The history took the reading but the outbox did not (card full between the two
    appends): the reading waits in memory and is queued, in order, before the next."""
    from meter_agent.config import UploadConfig
    from meter_agent.upload import Uploader

    up = Uploader(UploadConfig(enabled=True, url="http://127.0.0.1:9/meter_reading"), tmp_path)
    up.enqueue(record(1).to_meter_reading())
    ops = FaultyOps(random.Random(0), {"write": 1.0}, "ENOSPC")
    faulty.append(ops)
    files.ops = ops
    with pytest.raises(OSError):
        up.enqueue(record(2).to_meter_reading())
    assert up.status.pending == 2  # one on disk, one in memory
    ops.enabled = False
    up.enqueue(record(3).to_meter_reading())
    assert [r.id for r in Outbox(tmp_path).pending()] == ["r00001", "r00002", "r00003"]


def test_at_start_the_outbox_gets_the_accepted_readings_it_missed(tmp_path: Path) -> None:
    """Across a restart: accepted readings in the history newer than anything in the
    outbox are queued when the agent starts."""
    from service_support import start_agent, write_config

    cfg = write_config(tmp_path, upload={"enabled": True, "url": "http://127.0.0.1:9/x"})
    a = start_agent(cfg)
    try:
        first = a.service.set_reading("200000")
        outbox = tmp_path / "data" / "outbox.jsonl"
        kept = outbox.read_text()
        second = a.service.set_reading("200100")
    finally:
        a.stop()
    outbox.write_text(kept)  # as if the card was full when the second was queued
    b = start_agent(cfg)
    try:
        pending = [r.id for r in b.service.uploader.outbox.pending()]
    finally:
        b.stop()
    assert pending == [first.id, second.id]
