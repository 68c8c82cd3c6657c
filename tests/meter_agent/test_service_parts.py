"""The parts MeterService is made of, on a synthetic meter without the HTTP server: the
service's last guard against a lower total, a reading set by hand that cannot be kept,
and what /health calls degraded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from service_support import synthetic_source, write_config

from meter_agent.config import load_agent_config
from meter_agent.health import HealthLog, health_document
from meter_agent.history import HistoryRecord, new_reading_id
from meter_agent.service import MeterService, StorageError


@pytest.fixture
def service(tmp_path: Path) -> Iterator[MeterService]:
    path = write_config(tmp_path)
    cfg = load_agent_config(path)
    svc = MeterService(cfg, path, source=synthetic_source(cfg))  # the meter shows 123456
    yield svc
    svc.close()


def accepted(kwh: float, when: datetime) -> HistoryRecord:
    return HistoryRecord(
        id=new_reading_id(when),
        timestamp=when,
        accepted=True,
        reading_kwh=kwh,
        digits=f"{int(kwh):06d}",
        confidence=0.99,
        method="cnn+seven_segment",
    )


def test_the_service_refuses_what_the_reader_took_when_the_history_is_higher(
    service: MeterService,
) -> None:
    # the history knows a higher total than the reader does (e.g. a stale state file)
    service.history.add(accepted(200000.0, datetime.now(UTC) - timedelta(minutes=1)))
    result, record = service.capture_and_record()
    assert result.accepted and result.digits == "123456"  # the reader took it …
    assert not record.accepted and record.reading_kwh is None  # … the service did not
    assert record.reason == "not_monotonic: lower than the last accepted reading (200000 kWh)"
    assert service.history.last_accepted().reading_kwh == 200000.0
    assert service.uploader.status.pending == 0


def test_with_monotonic_off_the_service_keeps_a_lower_reading(service: MeterService) -> None:
    service.config.ocr.monotonic = False
    service.history.add(accepted(200000.0, datetime.now(UTC) - timedelta(minutes=1)))
    _, record = service.capture_and_record()
    assert record.accepted and record.reading_kwh == 123456.0


def test_a_reading_set_by_hand_that_cannot_be_kept_changes_nothing(
    service: MeterService, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = service.capture_and_record()
    before = service.reader.last_accepted

    def full(record: HistoryRecord) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.history, "add", full)
    with pytest.raises(StorageError, match="cannot be written"):
        service.set_reading("100000")
    assert service.reader.last_accepted is before
    assert service.last_error is not None and "No space left" in service.last_error
    assert service.last_record == first


def test_health_says_degraded_while_rounds_fail_and_error_when_the_camera_does(
    service: MeterService,
) -> None:
    assert service.health()["status"] == "ok"
    service.health_log.consecutive_errors = 2
    doc = service.health()
    assert doc["status"] == "degraded" and doc["consecutive_errors"] == 2
    service.health_log.consecutive_errors = 0
    camera = service.source.status.to_json() | {"ok": False}
    log = service.health_log
    log.capture_failed("the camera is gone.")
    assert log.capture_errors == 1 and log.last_error == "the camera is gone."
    doc = health_document(
        log,
        history=service.history,
        reader_counts={},
        camera=camera,
        lighting={},
        upload={},
        references=None,
        interval_s=1.0,
    )
    assert doc["status"] == "error" and doc["counts"]["capture_errors"] == 1
    assert HealthLog().uptime_s() >= 0.0


def test_the_latest_frame_is_let_go_once_too_old_and_never_under_a_busy_camera(
    service: MeterService,
) -> None:
    frame = service.current_frame()
    assert service.forget_stale_frame() is False  # fresh: previews and learning may want it
    assert service.current_frame(max_age_s=5.0) is frame  # reused, the camera not woken
    result: list[bool] = []
    asker = threading.Thread(target=lambda: result.append(service.forget_stale_frame(0.0)))
    with service._lock:  # a reading in progress holds the camera; the lock is re-entrant,
        asker.start()  # so ask from another thread, as the capture loop's event loop does
        asker.join()
    assert result == [False] and service.last_frame is frame
    assert service.forget_stale_frame(0.0) is True
    assert service.last_frame is None and service.last_frame_at is None
    assert service.current_frame() is not frame  # a new one is grabbed when asked for


def test_the_demo_meter_goes_on_from_the_last_reading_kept(tmp_path: Path) -> None:
    """The synthetic meter a config names (the demo) starts at 314159; started again on a
    data folder whose last accepted reading is higher, it carries on from that reading,
    as a meter that went on turning while its agent was stopped (it used to start over,
    and every reading was refused as lower than the last one kept)."""
    path = write_config(tmp_path)
    cfg = load_agent_config(path)
    first = MeterService(cfg, path)
    try:
        assert first.source.digits() == "314159"  # type: ignore[attr-defined]
        first.history.add(accepted(314216.0, datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        first.close()
    again = MeterService(load_agent_config(path), path)
    try:
        assert again.source.digits() == "314216"  # type: ignore[attr-defined]
        result, record = again.capture_and_record()
        assert record.accepted and record.digits == "314216", record.reason
    finally:
        again.close()
