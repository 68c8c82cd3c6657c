from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from energytui.model import EnergyCounters, GridStatus, PowerSample

HERE = Path(__file__).parent
CHILD = HERE / "child.py"
REPO = HERE.parents[2]

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def sample(
    i: int, *, start: datetime = T0, step_s: float = 5.0, solar: float | None = None
) -> dict:
    """A real PowerSample record, i steps after start."""
    s = PowerSample(
        ts=start + timedelta(seconds=step_s * i),
        solar_w=float(i) if solar is None else solar,
        battery_w=-452.9,
        grid_w=float(i % 7) - 3.0,
        load_w=891.5,
        soe_pct=55.0 + i / 100,
        reserve_pct=20.0,
        grid_status=GridStatus.UP,
        counters=EnergyCounters(
            solar_produced_wh=8_123_001.8 + i,
            grid_imported_wh=5_412_000.0 + 2 * i,
            grid_exported_wh=3_977_000.0,
            battery_charged_wh=2_840_000.6,
            battery_discharged_wh=2_610_000.0,
            home_consumed_wh=9_938_001.2 + 3 * i,
        ),
        source="simulated",
    )
    return s.to_record()


def shard_files(root: Path, level: str = "raw", series: str = "power") -> list[Path]:
    d = root / level / series
    return sorted(p for p in d.iterdir() if p.name.endswith(".json")) if d.is_dir() else []


def child_cmd(*args: object) -> list[str]:
    return [sys.executable, str(CHILD), *map(str, args)]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_child(*args: object, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        child_cmd(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"
