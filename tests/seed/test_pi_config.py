"""The seed's Pi config.json runs ``meter-agent serve`` as written, and the hub polls it.

A real agent process on loopback, with the seed's own config.json (taken from the seed's
document) whose paths point into tmp_path, whose upload endpoint is a small real hub on
127.0.0.1, and whose camera is the synthetic meter (the seed's camera 0 is not here).
The hub side is a real MeterSource built from ``METER_ENDPOINT`` as the seed set it: the
full ``…/meter`` URL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from energytui.config import load_config
from energytui.runtime import build_clock, build_sources
from energytui.sources.meter import MeterSource
from tests.meter_agent.agent_support import LoopbackServer
from tests.seed_pi_support import receiver_app, seed_config_in
from tests.support import REPO, free_port

pytestmark = pytest.mark.slow

#: an image from long before the seed's keep_days (7): the agent deletes it at start
OLD_IMAGE = "2020-01-01/20200101T000000.000Z_accepted.jpg"


def start_agent(config_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    return subprocess.Popen(
        [sys.executable, "-m", "meter_agent.cli", "serve", "--config", str(config_path)],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_agent(proc: subprocess.Popen) -> str:
    """SIGTERM, then the agent's stderr; it must have stopped cleanly."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def wait_until(check: Any, proc: subprocess.Popen, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"the agent ended ({proc.returncode}) before {what}: {err}")
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout:g} s")


def write_seed_config(tmp_path: Path, port: int, hub_url: str, **changes: Any) -> Path:
    ours: dict[str, dict[str, Any]] = {
        "camera": {"source": "synthetic"},
        "server": {"host": "127.0.0.1", "port": port},
        "upload": {"api_endpoint": f"{hub_url}/meter_reading"},
    }
    for section, values in changes.items():
        ours.setdefault(section, {}).update(values)
    data = seed_config_in(tmp_path, **ours)
    old = tmp_path / "images" / OLD_IMAGE
    old.parent.mkdir(parents=True)
    old.write_bytes(b"\xff\xd8 an old frame")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def meter_answer(port: int) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/meter", timeout=5)
    except httpx.TransportError:
        return None
    return r.json() if r.status_code == 200 else None


def test_the_seeds_config_reads_uploads_logs_and_is_polled_by_the_hub(tmp_path: Path) -> None:
    port = free_port()
    with LoopbackServer(receiver_app()) as hub:
        config_path = write_seed_config(tmp_path, port, hub.url)
        proc = start_agent(config_path)
        try:
            meter = wait_until(lambda: meter_answer(port), proc, "reading on GET /meter")
            bodies = wait_until(lambda: hub.app.state.bodies, proc, "upload to api_endpoint")
            assert bodies[0]["reading_kwh"] == meter["reading_kwh"]
            wait_until(lambda: not (tmp_path / "images" / OLD_IMAGE).exists(), proc, "pruning")

            # the hub, configured as the seed's .env has it, polls the real agent
            cfg = load_config(environ={"METER_ENDPOINT": f"http://127.0.0.1:{port}/meter"})
            (source,) = [s for s in build_sources(cfg, build_clock(cfg)) if s.kind == "meter"]
            assert isinstance(source, MeterSource)
            polled = asyncio.run(_poll_once(source))
            assert polled.reading_kwh == meter["reading_kwh"]
            # and energytui's own form, the agent's base URL, polls the same GET /meter
            base = asyncio.run(_poll_once(MeterSource(f"http://127.0.0.1:{port}/")))
            assert base.reading_kwh == meter["reading_kwh"]

            # upload.interval_seconds (900) is the reading cadence: seconds later, still one
            time.sleep(4)
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
            assert health["interval_s"] == 900
            assert len(hub.app.state.bodies) == 1
            history = (tmp_path / "data" / "history.jsonl").read_text().splitlines()
            assert len(history) == 1
        finally:
            err = stop_agent(proc)
    log_text = (tmp_path / "log" / "meter.log").read_text(encoding="utf-8")
    assert f"meter-agent serving on http://127.0.0.1:{port}" in log_text
    assert "every 900 s" in log_text
    assert " INFO " in log_text  # logging.level INFO
    # save_images false: no frame kept, and the old one is gone (keep_days)
    assert [p for p in (tmp_path / "images").rglob("*") if p.is_file()] == []
    assert "is ignored" not in err


async def _poll_once(source: MeterSource) -> Any:
    try:
        return await source.poll()
    finally:
        await source.close()


def test_save_images_true_keeps_the_frames_and_a_shadowed_seed_key_is_named(tmp_path: Path) -> None:
    port = free_port()
    with LoopbackServer(receiver_app()) as hub:
        config_path = write_seed_config(
            tmp_path,
            port,
            hub.url,
            storage={"save_images": True, "keep_days": 7},
            ocr={"interval_s": 900.0},  # ours beside the seed's upload.interval_seconds
        )
        proc = start_agent(config_path)
        try:
            wait_until(lambda: meter_answer(port), proc, "reading on GET /meter")
            old = Path(OLD_IMAGE).name
            frames = wait_until(
                lambda: [p for p in (tmp_path / "images").rglob("*.jpg") if p.name != old],
                proc,
                "a saved frame",
            )
        finally:
            err = stop_agent(proc)
    assert frames and all(p.stat().st_size > 1000 for p in frames)
    assert "upload.interval_seconds is ignored: the config also sets energytui's key" in err


def test_a_typo_in_the_seeds_config_is_refused_with_the_key_it_meant(tmp_path: Path) -> None:
    data = seed_config_in(tmp_path)
    data["ocr"]["confidance_threshold"] = data["ocr"].pop("confidence_threshold")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    proc = start_agent(path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        f'meter-agent: config file {path}: "ocr.confidance_threshold" is not a meter-agent '
        'setting; did you mean "ocr.confidence_threshold"?'
    ]


@pytest.mark.parametrize(
    ("endpoint", "base"),
    [
        ("http://pi:5000/meter", "http://pi:5000"),  # the seed's .env
        ("http://meter-camera:5000/meter/", "http://meter-camera:5000"),
        ("http://pi:5000", "http://pi:5000"),  # energytui's form
        ("http://pi.local:5000/", "http://pi.local:5000"),
        ("http://meter:5000", "http://meter:5000"),  # a host named meter is not a path
    ],
)
def test_meter_endpoint_is_the_agents_base_or_the_seeds_full_url(endpoint: str, base: str) -> None:
    cfg = load_config(environ={"METER_ENDPOINT": endpoint})
    assert cfg.meter.endpoint == base
    assert MeterSource(endpoint).endpoint == base


def test_interval_seconds_is_the_cadence_of_readings_and_uploads(tmp_path: Path) -> None:
    port = free_port()
    with LoopbackServer(receiver_app()) as hub:
        config_path = write_seed_config(tmp_path, port, hub.url, upload={"interval_seconds": 1})
        proc = start_agent(config_path)
        try:
            bodies = wait_until(
                lambda: len(hub.app.state.bodies) >= 3 and hub.app.state.bodies, proc, "3 uploads"
            )
        finally:
            stop_agent(proc)
    times = [datetime.fromisoformat(b["timestamp"]) for b in bodies[:3]]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(0.9 <= gap < 30 for gap in gaps), gaps
