"""A store that takes no writes never stops the monitoring (issue 14, finding 4).

A read-only data dir (an SD card remounted read-only) or a second ``serve`` on
another port made the hub "attach" to its own URL: it never polled the power
source and stayed unhealthy. Now the hub polls and serves live data, says why it
is not storing in one sentence (``/health``, every screen), and tries the store
again every 30 s. The disks here are real: a tmpfs mounted read-only, and a tmpfs
that is full.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from energytui.config import load_config
from energytui.runtime import build_hub
from energytui.store import Store
from tests.energytui.test_serve import start_serve, stop, wait_listening, write_config
from tests.hub_support import wait_for
from tests.support import free_port


def _mount(path: Path, opts: str) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=True, capture_output=True
    )


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount(path, f"size={size}")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mounting a tmpfs is not permitted here ({exc}); needs root or CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def health(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()


def wait_health(port: int, pred, timeout: float = 30.0) -> dict:
    end = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < end:
        with contextlib.suppress(httpx.HTTPError):
            last = health(port)
            if pred(last):
                return last
        time.sleep(0.1)
    raise AssertionError(f"health never matched: {last}")


def test_serve_on_a_read_only_data_dir_polls_live_and_says_why(tmp_path):
    data = tmp_path / "data"
    with tmpfs(data):
        with Store.open(data / "store") as store:  # a store from before the remount
            store.append("power", {"ts": "2026-11-25T08:00:00Z", "solar_w": 1.0})
        remount(data, "ro")
        port = free_port()
        proc = start_serve(write_config(tmp_path, port))
        try:
            wait_listening(port, proc)
            h = wait_health(port, lambda h: h["powerwall_connected"])
            assert h["status"] == "degraded"  # live, but not storing
            assert h["store"]["error"].startswith("Not storing readings: cannot write to ")
            assert "read-only file system" in h["store"]["error"]
            assert h["store"]["error"].endswith("trying again every 30 s.")
            cur = httpx.get(f"http://127.0.0.1:{port}/api/v1/current_readings", timeout=5)
            assert cur.status_code == 200 and cur.json()["stale"] is False
        finally:
            code, err = stop(proc)
        assert code == 0, err
        assert "attaching to" not in err
        assert "Traceback" not in err


def test_a_second_serve_on_another_port_polls_itself(tmp_path):
    first_port, second_port = free_port(), free_port()
    first = start_serve(write_config(tmp_path, first_port))
    try:
        wait_listening(first_port, first)
        wait_health(first_port, lambda h: h["powerwall_connected"])
        second = start_serve(write_config(tmp_path, second_port))
        try:
            wait_listening(second_port, second)
            h = wait_health(second_port, lambda h: h["powerwall_connected"])
            err = h["store"]["error"]
            assert err.startswith(f"Not storing readings: another energytui (pid {first.pid})")
            assert h["store"]["readonly"] is True
            # the first is still the store's writer and healthy
            assert health(first_port)["store"]["error"] is None
        finally:
            code, err = stop(second)
        assert code == 0, err
        assert "attaching to" not in err
    finally:
        stop(first)


def _cfg(data: Path):
    return load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(data), "log_file": str(data.parent / "log.txt")},
            "simulated": {"interval_s": 0.05},
            "api": {"enabled": False},
        },
    )


async def test_a_full_disk_keeps_the_hub_live_and_loses_nothing_once_there_is_room(tmp_path):
    data = tmp_path / "data"
    with tmpfs(data, size="64k"):
        cfg = _cfg(data)
        Store.open(cfg.store_path).close()
        filler = data / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        hub = build_hub(cfg)
        assert not hub.store.readonly  # it could open (the files were there) ...
        await hub.start()
        try:
            await wait_for(lambda: hub.store_error is not None, timeout=10)
            assert hub.store_error.startswith("Not storing readings: could not write the store")
            assert "no space left on device" in hub.store_error
            await wait_for(lambda: hub.view.store.error == hub.store_error, timeout=5)
            n0 = len(hub.state.history)
            await wait_for(lambda: len(hub.state.history) > n0 + 10, timeout=10)
            assert hub.power_is_live  # ... and the polling goes on
            filler.unlink()
            assert await hub.retry_store() is True
            assert hub.store_error is None
            served = [s.ts for s in hub.state.history]
        finally:
            await hub.stop()
        with Store.open(cfg.store_path, readonly=True) as store:
            rows = store.query(
                "power",
                datetime.now(UTC) - timedelta(hours=1),
                datetime.now(UTC) + timedelta(minutes=1),
                resolution="raw",
            )
        stored = {r["ts"] for r in rows}
        from meter_agent.schema import iso_z

        # every reading the hub took while the disk was full is in the store now
        missing = [t for t in served if iso_z(t) not in stored]
        assert missing == []


async def test_a_deleted_journal_stops_the_writer_and_the_hub_stores_again(tmp_path):
    """Finding 1 at the hub: the journal deleted under the running hub. The store stops
    writing (never appends to the deleted file), the hub says so and goes on live,
    then opens the store again and writes every reading it took, none lost."""
    data = tmp_path / "data"
    cfg = _cfg(data)
    hub = build_hub(cfg)
    await hub.start()
    try:
        await wait_for(lambda: len(hub.state.history) > 5, timeout=10)
        (cfg.store_path / "journal.jsonl").unlink()
        await wait_for(lambda: hub.store_error is not None, timeout=10)
        assert "was deleted while this process was writing it" in hub.store_error
        assert hub.store.stopped is not None
        await wait_for(lambda: hub.view.store.error == hub.store_error, timeout=5)
        n0 = len(hub.state.history)
        await wait_for(lambda: len(hub.state.history) > n0 + 5, timeout=10)  # still live
        assert await hub.retry_store() is True
        assert hub.store_error is None and hub.store.stopped is None
        served = [s.ts for s in hub.state.history]
    finally:
        await hub.stop()
    from meter_agent.schema import iso_z

    with Store.open(cfg.store_path, readonly=True) as store:
        rows = store.query(
            "power",
            datetime.now(UTC) - timedelta(hours=1),
            datetime.now(UTC) + timedelta(minutes=1),
            resolution="raw",
        )
    stored = {r["ts"] for r in rows}
    assert [t for t in served if iso_z(t) not in stored] == []
