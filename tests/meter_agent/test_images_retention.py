"""Saved frames, their retention by age and size, and the rotating log file."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from agent_support import digits_image

from meter_agent.config import StorageConfig
from meter_agent.images import ImageStore
from meter_agent.logging_setup import setup_logging

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_saved_frame_is_a_readable_jpeg_in_a_day_folder(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "img", StorageConfig())
    img = digits_image("271828")
    path = store.save(img, NOW, "rejected/low confidence")
    assert path.parent.name == "2026-11-25"
    assert path.name == "20261125T100000.000Z_rejected-low-confidence.jpg"
    back = cv2.imread(str(path))
    assert back.shape == img.shape
    assert abs(float(back.mean()) - float(img.mean())) < 2
    assert store.taken_at(path) == NOW
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("mode", "accepted", "kept"),
    [
        ("none", False, False),
        ("rejected", False, True),
        ("rejected", True, False),
        ("all", True, True),
    ],
)
def test_which_frames_are_kept(mode: str, accepted: bool, kept: bool) -> None:
    assert ImageStore("x", StorageConfig(save_images=mode)).wants(accepted) is kept


def test_prune_deletes_old_images_and_empty_day_folders(tmp_path: Path) -> None:
    store = ImageStore(tmp_path, StorageConfig(keep_days=7))
    img = digits_image("1", size=(64, 32))
    old = [store.save(img, NOW - timedelta(days=d), "rejected") for d in (30, 8)]
    new = [store.save(img, NOW - timedelta(days=d), "rejected") for d in (6, 0)]
    foreign = tmp_path / "snapshot.jpg"  # not named by us: its modification time counts
    cv2.imwrite(str(foreign), img)
    ten_days_ago = (NOW - timedelta(days=10)).timestamp()
    os.utime(foreign, (ten_days_ago, ten_days_ago))
    res = store.prune(NOW)
    assert res.deleted == 3 and res.kept == 2
    assert all(not p.exists() for p in [*old, foreign])
    assert all(p.exists() for p in new)
    assert not old[0].parent.exists()  # its day folder went with it


def test_prune_keeps_the_folder_under_its_size_cap(tmp_path: Path) -> None:
    store = ImageStore(tmp_path, StorageConfig(keep_days=365, max_image_mb=0.05))
    img = digits_image("9876543210", size=(200, 80), seed=3)
    paths = [store.save(img, NOW - timedelta(minutes=10 - i), "rejected") for i in range(10)]
    size = paths[0].stat().st_size
    res = store.prune(NOW)
    total = sum(p.stat().st_size for p in paths if p.exists())
    assert total <= 0.05 * 1024 * 1024
    assert res.deleted >= 1 and total + size > 0.05 * 1024 * 1024  # only as many as needed
    survivors = [p.exists() for p in paths]
    assert survivors == sorted(survivors)  # the oldest went first


def test_log_file_rotates_and_stays_bounded(tmp_path: Path) -> None:
    storage = StorageConfig(log_max_bytes=10_000, log_backups=2)
    log_file = tmp_path / "logs" / "agent.log"
    root_level = logging.getLogger().level
    handler = setup_logging(storage, log_file, "info", stderr=False)
    assert handler is not None
    try:
        logger = logging.getLogger("meter_agent.test")
        for i in range(600):
            logger.info("reading %d accepted: 001234 kWh with confidence 0.97", i)
        handler.flush()
        files = sorted(p.name for p in log_file.parent.iterdir())
        assert files == ["agent.log", "agent.log.1", "agent.log.2"]
        assert all(p.stat().st_size <= 10_000 for p in log_file.parent.iterdir())
        assert "reading 599 accepted" in log_file.read_text()
    finally:
        setup_logging(storage, None, "warning", stderr=False)  # removes the file handler
        logging.getLogger().setLevel(root_level)
    assert not any(
        isinstance(h, logging.FileHandler) and h.baseFilename == str(log_file)
        for h in logging.getLogger().handlers
    )


def test_unwritable_log_location_does_not_stop_the_agent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    root_level = logging.getLogger().level
    assert setup_logging(StorageConfig(), blocker / "agent.log", "info", stderr=False) is None
    setup_logging(StorageConfig(), None, "warning", stderr=False)
    logging.getLogger().setLevel(root_level)


async def test_the_running_agent_prunes_old_images_itself(tmp_path: Path) -> None:
    import asyncio

    from service_support import synthetic_source, write_config

    from meter_agent.config import load_agent_config
    from meter_agent.service import MeterService

    cfg_path = write_config(tmp_path, storage={"keep_days": 2, "save_images": "all"})
    cfg = load_agent_config(cfg_path)
    service = MeterService(cfg, cfg_path, source=synthetic_source(cfg))
    old = service.images.save(digits_image("1"), datetime.now(UTC) - timedelta(days=3), "rejected")
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        for _ in range(600):
            # wait for an accepted reading's frame (the first burst may be refused, and the
            # frame is saved just after the reading is recorded)
            if not old.exists() and list(service.image_dir.rglob("*_ok_123456.jpg")):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert not old.exists()
    kept = list(service.image_dir.rglob("*_ok_123456.jpg"))
    assert kept, "the accepted reading's frame is kept with save_images=all"
