"""The spool's own accounting: every point counted once, from queue to file to server."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from energytui.sinks.influx_spool import Spool, SpoolWriteError


def lines(n: int, start: int = 0) -> list[str]:
    return [f"power solar_w={i}i {1_700_000_000_000 + i}" for i in range(start, start + n)]


def test_announced_points_count_once_before_and_after_they_reach_a_file(tmp_path):
    spool = Spool(tmp_path, max_points=100, batch_size=5)
    spool.open()
    spool.expect(12)
    assert spool.pending == 12 and spool.incoming == 12
    spool.append(lines(12))
    assert spool.pending == 12 and spool.incoming == 0
    assert spool.state().sealed_files == 2  # two whole batches; two points in the open file
    spool.close()


def test_a_disk_error_mid_append_says_how_many_were_written(tmp_path, monkeypatch):
    spool = Spool(tmp_path, max_points=100, batch_size=5)
    spool.open()
    real_fsync = os.fsync
    calls = 0

    def full_on_second_seal(fd: int) -> None:
        nonlocal calls
        if stat.S_ISREG(os.fstat(fd).st_mode):  # a batch's file, not the directory
            calls += 1
        if calls == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_on_second_seal)
    spool.expect(12)
    with pytest.raises(SpoolWriteError) as err:
        spool.append(lines(12))
    assert err.value.written == 10  # the second batch was written, its seal failed
    assert "No space left" in str(err.value.cause)
    assert spool.incoming == 0  # the two never written are the caller's again
    monkeypatch.setattr(os, "fsync", real_fsync)


def test_a_full_spool_drops_whole_oldest_files_and_keeps_the_bound(tmp_path):
    spool = Spool(tmp_path, max_points=20, batch_size=5)
    spool.open()
    for i in range(47):
        spool.expect(1)
        spool.append(lines(1, i))
    st = spool.state()
    assert 15 <= st.pending <= 20
    assert st.dropped + st.pending == 47
    kept = []
    while (batch := spool.next_batch()) is not None:
        kept += batch.body.decode().splitlines()
        spool.ack(batch)
    spool.seal()
    while (batch := spool.next_batch()) is not None:
        kept += batch.body.decode().splitlines()
        spool.ack(batch)
    assert kept == lines(47 - st.dropped, st.dropped)  # the newest, in order, each once
    spool.close()
