"""The fault harness: ENOSPC, EIO and short writes at the store's storage seam, and
power cuts at random points; after each, every file is readable and every
acknowledged sample is there.

**Acknowledged** means: ``Store.append`` returned without raising. It returns only
after the journal line was written and ``fdatasync``ed (the hub serves a sample
from the store, ``/history/power`` with ``origin: store``, only after that). A call
that raised acknowledged nothing: its sample may be there or not.

**Readable** means: the store opens as a writer; it moved no file aside as damaged
(``stats()["quarantined"]`` is empty); every shard file reads as a TinyDB database
(:func:`energytui.store.storage.read_shard`); every complete journal line parses;
``store.json`` and ``retention.json`` are JSON.

**Power cut** (the model): the store's calls go through :class:`FaultSeam`, which
remembers, per file (inode), how many bytes were there at its last ``fsync`` or
``fdatasync``. At a chosen call it raises :class:`PowerCut` instead of doing it;
the store is dropped without another write (descriptors closed, lock let go), and
every file is cut back to its last synced length (a file never synced: to zero).
Renames are taken as durable when made (the store fsyncs the directory after each
one; the model does not undo them).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from energytui.store import Store, StoreError, storage
from energytui.store.journal import parse
from energytui.store.storage import read_shard

START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
N = 240  # samples, 10 minutes apart: 40 hours over three days
STEP_S = 600
MAINTAIN_EVERY = 15  # appends between maintain() calls (folds, merges, closes periods)


class PowerCut(BaseException):
    """The power went: nothing after this call happens (BaseException: nothing catches it)."""


class FaultSeam(storage.Seam):
    """The storage seam with faults: fail call number ``fail_at`` (of the kinds in
    ``fail_kinds``) with ``fail_errno``, cut the power at call number ``cut_at``,
    and make every write short when ``short`` (see the module doc)."""

    def __init__(
        self,
        *,
        fail_at: set[int] | None = None,
        fail_kinds: tuple[str, ...] = ("write", "fsync", "rename"),
        fail_errno: int = errno.ENOSPC,
        cut_at: int | None = None,
        short: bool = False,
    ) -> None:
        self.calls = 0
        self.fail_at = fail_at or set()
        self.fail_kinds = fail_kinds
        self.fail_errno = fail_errno
        self.cut_at = cut_at
        self.short = short
        self.synced: dict[tuple[int, int], int] = {}
        self.failed = 0

    def _step(self, kind: str) -> None:
        self.calls += 1
        if self.cut_at is not None and self.calls >= self.cut_at:
            raise PowerCut(self.calls)
        if self.calls in self.fail_at and kind in self.fail_kinds:
            self.failed += 1
            raise OSError(self.fail_errno, os.strerror(self.fail_errno))

    def write(self, fd: int, data: memoryview) -> int:
        self._step("write")
        if self.short and len(data) > 1:
            data = data[: max(1, len(data) // 3)]
        return os.write(fd, data)

    def _sync(self, fd: int) -> None:
        self._step("fsync")
        st = os.fstat(fd)
        self.synced[(st.st_dev, st.st_ino)] = st.st_size  # no real sync: the model keeps it

    fsync = _sync
    fdatasync = _sync

    def replace(self, src: Path, dst: Path) -> None:
        self._step("rename")
        os.replace(src, dst)

    def rename(self, src: Path, dst: Path) -> None:
        self._step("rename")
        os.rename(src, dst)

    def ftruncate(self, fd: int, length: int) -> None:
        self._step("write")
        os.ftruncate(fd, length)

    def unlink(self, path: Path) -> None:
        self._step("rename")
        os.unlink(path)

    def power_loss(self, root: Path) -> int:
        """Cut every file back to its last synced length; how many were cut."""
        cut = 0
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(dirpath, name)
                st = os.stat(path)
                keep = self.synced.get((st.st_dev, st.st_ino), 0)
                if st.st_size > keep:
                    os.truncate(path, keep)
                    cut += 1
        return cut


def record(i: int) -> dict:
    ts = START + timedelta(seconds=STEP_S * i)
    return {
        "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "solar_w": float(i),
        "grid_w": float(i % 7) - 3.0,
        "grid_imported_wh": 5_000_000.0 + 11.0 * i,
    }


def drop(store: Store) -> None:
    """The process is gone: close its descriptors (which lets the lock go), write nothing."""
    if store._journal is not None:
        store._journal.close()
    if store._lock_file is not None:
        store._lock_file.release()
    store._closed = True


def workload(root: Path, seam: FaultSeam) -> tuple[set[str], bool]:
    """Append N samples with maintain() as time goes by; (acknowledged ts, power was cut)."""
    acked: set[str] = set()
    old = storage.use_seam(seam)
    store = None
    try:
        store = Store.open(root, flush_interval_s=0)
        for i in range(N):
            rec = record(i)
            try:
                store.append("power", rec)
            except StoreError:
                pass
            else:
                acked.add(rec["ts"])
            if i % MAINTAIN_EVERY == MAINTAIN_EVERY - 1:
                now = START + timedelta(seconds=STEP_S * i + 60)
                with contextlib.suppress(StoreError):
                    store.maintain(now)
        store.close()
        return acked, False
    except PowerCut:
        if store is not None:
            drop(store)
        return acked, True
    finally:
        storage.use_seam(old)


def check(root: Path, acked: set[str]) -> None:
    """Every file readable, every acknowledged sample present (see the module doc)."""
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if name.endswith(".json") and path.parent.parent != root.parent:
                if path.parent == root:
                    if path.stat().st_size:
                        json.loads(path.read_bytes())
                    continue
                read_shard(path)  # raises CorruptFile when it is not a whole TinyDB file
            elif name.startswith("journal"):
                data = path.read_bytes()
                entries, end, _ = parse(data, name)
                lines = [ln for ln in data[:end].split(b"\n") if ln.strip()]
                assert len(entries) == len(lines) - (
                    1 if lines and b"energytui_journal" in lines[0] else 0
                )
    with Store.open(root, flush_interval_s=0) as store:
        assert store.stats()["quarantined"] == []
        rows = store.query("power", START, START + timedelta(days=3), resolution="raw")
        got = {r["ts"]: r for r in rows}
        missing = sorted(acked - set(got))
        assert missing == [], f"{len(missing)} acknowledged sample(s) lost: {missing[:5]}"
        for ts in acked:
            i = round(
                (datetime.fromisoformat(ts.replace("Z", "+00:00")) - START).total_seconds() / STEP_S
            )
            assert got[ts]["solar_w"] == record(i)["solar_w"]


def total_calls(tmp_path: Path) -> int:
    seam = FaultSeam()
    acked, cut = workload(tmp_path / "count", seam)
    assert not cut and len(acked) == N
    return seam.calls


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> int:
    return total_calls(tmp_path_factory.mktemp("count"))


def test_the_harness_sees_the_store_write(tmp_path, calls):
    """A harness that saw no calls could not fail: the workload makes hundreds."""
    assert calls > 500
    seam = FaultSeam(fail_at=set(range(1, 10**6)), fail_kinds=("fsync",), fail_errno=errno.EIO)
    acked, _ = workload(tmp_path / "s", seam)
    assert acked == set() and seam.failed > 0  # no sync, no acknowledgement


@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        (("write",), errno.ENOSPC),
        (("fsync",), errno.EIO),
        (("rename",), errno.ENOSPC),
        (("rename",), errno.EIO),
        (("write", "fsync", "rename"), errno.EIO),
    ],
    ids=["enospc-write", "eio-fsync", "enospc-rename", "eio-rename", "eio-any"],
)
def test_errors_at_the_seam_lose_nothing_acknowledged(tmp_path, calls, kinds, code):
    rng = random.Random(f"{kinds}{code}")
    for case in range(8):
        root = tmp_path / f"c{case}"
        # a few single failures, and a burst (a disk full for a while)
        first = rng.randrange(1, calls)
        fail_at = {rng.randrange(1, calls) for _ in range(3)} | set(range(first, first + 40))
        seam = FaultSeam(fail_at=fail_at, fail_kinds=kinds, fail_errno=code)
        acked, cut = workload(root, seam)
        assert not cut
        assert seam.failed > 0
        check(root, acked)


def test_short_writes_change_nothing(tmp_path):
    seam = FaultSeam(short=True)
    acked, _ = workload(tmp_path / "s", seam)
    assert len(acked) == N
    check(tmp_path / "s", acked)


def test_power_cuts_at_random_points_lose_nothing_acknowledged(tmp_path, calls):
    rng = random.Random(14)
    points = sorted(rng.sample(range(2, calls), 40))
    cut_files = 0
    for k in points:
        root = tmp_path / f"cut{k}"
        seam = FaultSeam(cut_at=k)
        acked, cut = workload(root, seam)
        assert cut
        cut_files += seam.power_loss(root)
        check(root, acked)
    assert cut_files > 0  # the model did cut unsynced bytes somewhere


def test_a_power_cut_after_errors_loses_nothing_acknowledged(tmp_path, calls):
    rng = random.Random(7)
    for case in range(10):
        root = tmp_path / f"mix{case}"
        k = rng.randrange(calls // 4, calls)
        fail_at = {rng.randrange(1, k) for _ in range(20)}
        seam = FaultSeam(fail_at=fail_at, fail_errno=errno.EIO, cut_at=k)
        acked, _ = workload(root, seam)
        seam.power_loss(root)
        check(root, acked)
