"""The seed's config.json, key by key: each one means here what it meant on the seed's Pi.

The whole-process run (serving, uploading, logging, images) is tests/seed/test_pi_config.py;
here the meaning of every key, the refusal of typos and the strictness of values.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from service_support import start_agent

from meter_agent.config import (
    AgentConfig,
    AgentConfigError,
    ServerConfig,
    StorageConfig,
    load_agent_config,
    save_agent_config,
)
from meter_agent.logging_setup import setup_logging
from meter_agent.serve_cmd import chosen_log_level
from tests.seed_pi_support import seed_config_in, seed_pi_config


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_every_key_of_the_seeds_file_sets_what_the_seed_meant(tmp_path: Path) -> None:
    cfg = load_agent_config(write(tmp_path, seed_pi_config()))
    assert cfg.camera.device == 0 and cfg.camera.source == "camera"  # device_id: camera index
    assert (cfg.camera.width, cfg.camera.height, cfg.camera.fps) == (1280, 720, 30)
    assert not cfg.camera.flip_vertical and not cfg.camera.flip_horizontal
    assert cfg.ocr.expected_digits == 7
    assert cfg.ocr.confidence_threshold == 0.85
    assert cfg.ocr.monotonic is True
    assert cfg.ocr.max_increase_per_day == 100  # not our default of 200
    assert cfg.lighting.enabled is True and cfg.lighting.brightness_target == 200
    assert cfg.upload.enabled is True  # an api_endpoint means uploads
    assert cfg.upload.url == "http://192.168.1.100:8000/meter_reading"
    assert cfg.ocr.interval_s == 900  # a reading (and its upload) every interval_seconds
    assert cfg.upload.timeout_s == 5
    assert cfg.storage.save_images == "none"
    assert cfg.storage.image_dir == "/var/log/meter-reader/images"
    assert cfg.storage.keep_days == 7
    assert cfg.logging.level == "INFO"
    assert cfg.storage.log_file == "/var/log/meter-reader/meter.log"
    assert cfg.server.port == 5000  # the seed's hub polls http://pi:5000/meter
    assert cfg.overridden_seed_keys == []


def test_the_agent_listens_on_port_5000_unless_told_otherwise() -> None:
    assert ServerConfig().port == 5000
    assert AgentConfig().server.port == 5000


@pytest.mark.parametrize(
    ("section", "values", "check"),
    [
        ("storage", {"save_images": True}, lambda c: c.storage.save_images == "all"),
        ("lighting", {"auto_adjust": False}, lambda c: c.lighting.enabled is False),
        ("lighting", {"enabled": False}, lambda c: c.lighting.enabled is False),
        ("upload", {"api_endpoint": ""}, lambda c: c.upload.enabled is False),
        ("upload", {"enabled": False}, lambda c: c.upload.enabled is False),
        ("camera", {"device_id": 2}, lambda c: c.camera.device == 2),
        ("ocr", {"monotonic_check": False}, lambda c: c.ocr.monotonic is False),
    ],
)
def test_the_seeds_other_values_mean_what_they_say(
    tmp_path: Path, section: str, values: dict[str, Any], check: Any
) -> None:
    data = seed_pi_config()
    data[section].update(values)
    assert check(load_agent_config(write(tmp_path, data)))


def test_our_key_wins_over_the_seeds_for_the_same_setting(tmp_path: Path) -> None:
    data = seed_pi_config()
    data["ocr"]["interval_s"] = 60.0
    data["upload"]["url"] = "http://hub.example:8000/meter_reading"
    cfg = load_agent_config(write(tmp_path, data))
    assert cfg.ocr.interval_s == 60 and cfg.upload.url.startswith("http://hub.example")
    assert cfg.upload.enabled is True  # the seed's endpoint still says "upload"
    assert cfg.overridden_seed_keys == ["upload.api_endpoint", "upload.interval_seconds"]


@pytest.mark.parametrize(
    ("section", "key", "suggestion"),
    [
        ("ocr", "confidance_threshold", '; did you mean "ocr.confidence_threshold"?'),
        ("upload", "interval_second", '; did you mean "upload.interval_seconds"?'),
        ("storage", "save_image", '; did you mean "storage.save_images"?'),
        ("logging", "log_fil", '; did you mean "logging.log_file"?'),
        ("camera", "zzz", "; see docs/meter-agent.md for the keys."),
    ],
)
def test_a_key_that_is_neither_ours_nor_the_seeds_is_refused_with_the_nearest_one(
    tmp_path: Path, section: str, key: str, suggestion: str
) -> None:
    data = seed_pi_config()
    data[section][key] = 1
    path = write(tmp_path, data)
    with pytest.raises(AgentConfigError) as exc:
        load_agent_config(path)
    assert str(exc.value) == (
        f'config file {path}: "{section}.{key}" is not a meter-agent setting{suggestion}'
    )


def test_an_unknown_section_is_refused_and_comments_are_kept(tmp_path: Path) -> None:
    data = seed_pi_config()
    data["uplaod"] = {}
    with pytest.raises(AgentConfigError, match='"uplaod" .* did you mean "upload"'):
        load_agent_config(write(tmp_path, data))
    data = seed_pi_config()
    data["comment"] = "the Pi in the garage"
    data["ocr"]["_why"] = "7 drums on this meter"
    assert load_agent_config(write(tmp_path, data)).ocr.expected_digits == 7


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("upload", "interval_seconds", "900", "upload.interval_seconds: input should be a valid"),
        ("ocr", "max_daily_increase_kwh", math.nan, "ocr.max_daily_increase_kwh: input should"),
        ("ocr", "confidence_threshold", math.inf, "ocr.confidence_threshold: input should be a"),
        ("camera", "device_id", True, "camera.device_id: input should be a valid integer"),
        ("camera", "width", "1280", "camera.width: input should be a valid integer"),
        ("lighting", "auto_adjust", 1, "lighting.auto_adjust must be true or false"),
        ("lighting", "enabled", "yes", "lighting.enabled: input should be a valid boolean"),
        ("logging", "level", "LOUD", "logging.level: level must be one of DEBUG"),
    ],
)
def test_values_are_strict_and_finite_and_named_as_the_file_has_them(
    tmp_path: Path, section: str, key: str, value: Any, message: str
) -> None:
    data = seed_pi_config()
    data[section][key] = value
    path = write(tmp_path, data)
    with pytest.raises(AgentConfigError) as exc:
        load_agent_config(path)
    text = str(exc.value)
    assert text.startswith(f"config file {path}: {message}") and text.endswith(".")


def test_a_saved_calibration_keeps_what_the_seeds_file_meant(tmp_path: Path) -> None:
    path = write(tmp_path, seed_pi_config())
    before = load_agent_config(path)
    changed = before.model_copy(
        update={"calibration": before.calibration.model_copy(update={"rotate_degrees": 2.5})}
    )
    save_agent_config(changed, path)
    after = load_agent_config(path)
    assert after.calibration.rotate_degrees == 2.5
    assert after.model_dump(exclude={"calibration"}) == before.model_dump(exclude={"calibration"})


def test_a_log_file_that_cannot_be_written_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    try:
        assert setup_logging(StorageConfig(), blocker / "meter.log", "INFO") is None
    finally:
        setup_logging(StorageConfig(), None, "WARNING", stderr=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].endswith(
        f"log file {blocker / 'meter.log'} cannot be written ({blocker}: file exists); "
        "logging to stderr only."
    )
    assert logging.getLogger().level == logging.WARNING


def test_the_seeds_keep_days_and_save_images_reach_the_image_store(tmp_path: Path) -> None:
    data = seed_config_in(
        tmp_path,
        camera={"source": "synthetic", "width": 960, "height": 540, "burst_interval_s": 0.0},
        storage={"save_images": True, "keep_days": 3},
        upload={"api_endpoint": ""},
    )
    agent = start_agent(write(tmp_path, data))
    try:
        images = agent.service.images
        assert images.dir == tmp_path / "images" and images.storage.keep_days == 3
        assert images.wants(accepted=True) and images.wants(accepted=False)
    finally:
        agent.stop()


def test_the_log_level_is_the_flag_then_log_level_then_the_seeds_logging_level(
    tmp_path: Path,
) -> None:
    data = seed_pi_config()
    data["logging"]["level"] = "warning"
    cfg = load_agent_config(write(tmp_path, data))
    assert cfg.logging.level == "WARNING"
    assert chosen_log_level(None, cfg, {}) == "WARNING"
    assert chosen_log_level(None, cfg, {"LOG_LEVEL": "debug"}) == "debug"
    assert chosen_log_level("error", cfg, {"LOG_LEVEL": "debug"}) == "error"
    assert chosen_log_level(None, AgentConfig(), {}) is None  # then INFO
