"""The service loop end to end: capture on schedule, survive errors, deliver to a hub that comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import cv2
from agent_support import LoopbackServer, free_port, hub_app
from service_support import synthetic_source, write_config

from meter_agent.capture import FileSource
from meter_agent.config import load_agent_config
from meter_agent.service import MeterService


async def wait_for(cond: Callable[[], bool], what: str, timeout: float = 45.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_loop_delivers_readings_made_while_the_hub_was_down(tmp_path: Path) -> None:
    port = free_port()
    cfg_path = write_config(
        tmp_path,
        upload={"enabled": True, "url": f"http://127.0.0.1:{port}/meter_reading", "interval_s": 1},
    )
    cfg = load_agent_config(cfg_path)
    source = synthetic_source(cfg)
    service = MeterService(cfg, cfg_path, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    hub = LoopbackServer(hub_app(), port=port)
    try:
        await wait_for(lambda: service.uploader.status.pending >= 2, "two readings queued")
        assert "cannot be reached" in (service.uploader.status.last_error or "")
        await asyncio.to_thread(hub.start)
        await wait_for(
            lambda: len(hub.app.state.received) >= 2 and service.uploader.status.pending == 0,
            "the queue to drain into the hub",
        )
    finally:
        stop.set()
        await task
        hub.stop()
    got = [r.id for r in hub.app.state.received]
    made = [r.id for r in service.history.query(limit=1000)]
    assert got == made[: len(got)]  # in order, none lost, none twice
    assert len(set(got)) == len(got)
    assert all(r.reading_kwh == 123456.0 for r in hub.app.state.received)


async def test_loop_survives_a_missing_camera_and_recovers(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path)
    cfg = load_agent_config(cfg_path)
    frames = tmp_path / "frames"
    service = MeterService(cfg, cfg_path, source=FileSource(frames))
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await wait_for(lambda: service.consecutive_errors >= 1, "a failed capture")
        assert "does not exist" in (service.last_error or "")
        assert service.health()["status"] in ("degraded", "error")
        # the camera "comes back": a folder with a picture of the meter
        frames.mkdir()
        cv2.imwrite(str(frames / "0001.png"), synthetic_source(cfg).grab())
        await wait_for(lambda: len(service.history) >= 1, "a reading after recovery")
        await wait_for(lambda: service.consecutive_errors == 0, "the error count to reset")
    finally:
        stop.set()
        await task
    assert not task.cancelled() and task.exception() is None
    assert service.history.last().digits == "123456"
