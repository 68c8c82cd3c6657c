"""``meter-agent serve`` as a real process: it serves, reads on schedule, logs, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from agent_support import free_port
from serve_support import ServeProcess
from service_support import TOKEN, write_config

ROOT = Path(__file__).resolve().parents[2]


def run_agent(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "meter_agent.cli", *args],  # what the meter-agent script runs
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_reads_on_schedule_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, storage={"log_file": "logs/agent.log"})
    port = free_port()
    proc = run_agent("serve", "--config", str(cfg_path), "--host", "127.0.0.1", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        meter = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    r = c.get("/meter")
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                if r.status_code == 200:
                    meter = r.json()
                    break
                time.sleep(0.1)
            assert meter is not None, "no accepted reading within a minute"
            assert meter["digits"] == "314159"  # the synthetic meter's first value
            assert c.get("/health").json()["camera"]["source"] == "synthetic"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    log_text = (tmp_path / "logs" / "agent.log").read_text()
    assert "meter-agent serving on http://127.0.0.1" in log_text
    assert "Traceback" not in err
    assert TOKEN not in log_text and TOKEN not in err  # secrets are never logged
    history = (tmp_path / "data" / "history.jsonl").read_text().splitlines()
    assert json.loads(history[0])["digits"] == "314159"


def test_bad_config_exits_2_with_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"server": {"port": "eighty"}}')
    proc = run_agent("serve", "--config", str(bad))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.startswith("meter-agent: config file") and "server.port" in err
    assert len(err.strip().splitlines()) == 1
    missing = run_agent("serve", "--config", str(tmp_path / "nope.json"))
    _, err = missing.communicate(timeout=60)
    assert missing.returncode == 2 and "does not exist" in err


def test_a_taken_port_exits_2_with_one_sentence_and_nothing_written(tmp_path: Path) -> None:
    """A second agent started on a port in use (a real socket holds it) must not read the
    meter, log or save state beside the running one: it says so in one sentence and exits
    2 before it touches anything."""
    import socket

    cfg_path = write_config(tmp_path, storage={"log_file": "logs/agent.log", "save_images": "all"})
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    config_text = cfg_path.read_text()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_agent(
            "serve", "--config", str(cfg_path), "--host", "127.0.0.1", "--port", str(port)
        )
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"meter-agent: cannot listen on 127.0.0.1:{port}; ")
    assert "another program is using the port" in lines[0] and lines[0].endswith(".")
    assert "Traceback" not in err and "Errno" not in err
    # no data folder, no state, no history, no images, no log: the folder is as it was
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert cfg_path.read_text() == config_text


def test_a_camera_that_cannot_be_opened_is_one_sentence_without_opencvs_own_warnings(
    tmp_path: Path,
) -> None:
    """Found running the seed's config.json (``camera.device_id``) on a machine with no
    camera: OpenCV printed its own ``[ WARN:0@0.2] global cap_v4l.cpp … can't open camera
    by index`` lines beside the agent's sentence, at every capture."""
    cfg_path = tmp_path / "config.json"
    cfg_path.write_text(json.dumps({"camera": {"device_id": 9}, "ocr": {"expected_digits": 7}}))
    agent = ServeProcess(cfg_path).start()
    try:
        deadline = time.monotonic() + 60
        error = None
        with httpx.Client(base_url=agent.url, timeout=10) as c:
            while error is None and time.monotonic() < deadline:
                error = c.get("/health").json()["last_error"]
                time.sleep(0.1)
    finally:
        err = agent.stop()
    assert error is not None and "camera device 9 cannot be opened" in error
    assert "camera device 9 cannot be opened; check camera.device" in err
    assert "WARN:" not in err and "cap_v4l" not in err and "libavdevice" not in err, err
