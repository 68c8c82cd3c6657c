"""A config that cannot work stops ``meter-agent serve`` at once with exit code 2 and one
sentence naming the key, never a traceback, a numpy message or errno text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

SYNTHETIC = {"source": "synthetic", "width": 960, "height": 540}


def serve(tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "meter_agent.cli", "serve", "--config", str(path), "--port", "0"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"ocr": {"intervall_s": 5}}, ['"ocr.intervall_s"', '"ocr.interval_s"']),
        ({"ocr": {"max_increase_per_day": "5"}}, ["ocr.max_increase_per_day", "number"]),
        ({"ocr": {"expected_digits": True}}, ["ocr.expected_digits", "integer"]),
        ({"ocr": {"confidence_threshold": float("inf")}}, ["ocr.confidence_threshold", "finite"]),
        ({"upload": {"interval_seconds": "60"}}, ["upload.interval_seconds"]),  # the seed's key
        (
            {"camera": {**SYNTHETIC, "width": 320, "height": 180}},
            ["camera.width/height", "320x180", "too small"],
        ),
        ({"camera": SYNTHETIC, "storage": {"data_dir": "a-file"}}, ["storage.data_dir", "a file"]),
        (
            {"camera": SYNTHETIC, "storage": {"data_dir": "a-file/data"}},
            ["storage.data_dir", "a file"],
        ),
        (
            {"camera": SYNTHETIC, "storage": {"image_dir": "a-file"}},
            ["storage.image_dir", "a file"],
        ),
    ],
)
def test_a_config_that_cannot_work_is_exit_2_and_one_sentence(
    tmp_path: Path, config: dict[str, Any], says: list[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    done = serve(tmp_path, config)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("meter-agent: ") and lines[-1].endswith((".", "?"))
    assert all(" ERROR " not in line and "Traceback" not in line for line in lines)
    for text in says:
        assert text in lines[-1], lines[-1]
    assert "Errno" not in done.stderr and "broadcast" not in done.stderr
    assert (tmp_path / "a-file").read_text() == "not a folder"  # nothing was changed
