"""The seed's own files as fixtures, and a real ``energytui serve`` on the gateway emulator.

The seed document's fenced files (app.py, configuration.yaml, metrics.py, config.json,
.env, docker-compose.yml, …) are copied into a tmp folder as written, found through
``SHARED`` as tests/conftest.py finds it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devkit.emulator import Emulator
from tests.conftest import SHARED
from tests.gateway_support import PASSWORD
from tests.seed.seed_files import SeedApp, seed_files
from tests.support import REPO, free_port, wait_for_http

TOKEN = "seed-token"
#: The files the tests read (the document holds a few more: the systemd unit, cron).
NEEDED = ("app.py", "configuration.yaml", "metrics.py", "config.json", ".env", "docker-compose.yml")


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's files, copied out of its document as written."""
    files = seed_files(SHARED)
    missing = [n for n in NEEDED if n not in files]
    assert not missing, f"the seed document lacks {missing}"
    folder = tmp_path_factory.mktemp("seed")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def seed_app(seed_dir: Path) -> SeedApp:
    return SeedApp.parse((seed_dir / "app.py").read_text(encoding="utf-8"))


@dataclass
class Served:
    """A running ``energytui serve`` on loopback, reading the emulator."""

    url: str
    emulator: Emulator
    proc: subprocess.Popen

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10, **kw)


def start_served(tmp: Path, emulator: Emulator) -> Served:
    port = free_port()
    config = tmp / "config.toml"
    config.write_text(
        f"""
[general]
data_dir = "{tmp / "data"}"
[powerwall]
host = "{emulator.host_port}"
password = "{PASSWORD}"
interval_s = 1
timeout_s = 2
slow_interval_s = 5
[api]
port = {port}
token = "{TOKEN}"
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "serve", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", emulator, proc)
    try:
        wait_for_http(f"{served.url}/api/v1/health", proc)
        until_status(served, "/current_readings", 200)
    except BaseException:
        stop_served(served)
        raise
    return served


def until_status(served: Served, path: str, status: int, limit_s: float = 30.0) -> httpx.Response:
    """Poll ``path`` until it answers ``status`` (the hub polls the gateway every second)."""
    import time

    end = time.monotonic() + limit_s
    while True:
        r = served.get(path)
        if r.status_code == status:
            return r
        if time.monotonic() > end:
            raise AssertionError(f"{path} kept answering {r.status_code}: {r.text}")
        time.sleep(0.2)


def stop_served(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.terminate()
    try:
        served.proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.communicate()


def _emulator() -> Emulator:
    return Emulator(host="127.0.0.1", port=0, password=PASSWORD).start()


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: What the seed's Pi posts (its body as documented in app.py): one weeks old, one now.
PI_READINGS = (
    {
        "reading_kwh": 1300.5,
        "timestamp": _iso(datetime.now(UTC) - timedelta(days=20)),
        "confidence": 0.97,
        "method": "camera_ocr",
        "digits": "0001300",
    },
    {
        "reading_kwh": 1314.25,
        "timestamp": _iso(datetime.now(UTC) - timedelta(minutes=1)),
        "confidence": 0.98,
        "method": "camera_ocr",
        "digits": "0001314",
    },
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One serve per test module, live, with the Pi's two readings posted as it would."""
    emu = _emulator()
    try:
        s = start_served(tmp_path_factory.mktemp("serve"), emu)
        try:
            for reading in PI_READINGS:
                posted = httpx.post(
                    f"{s.url}/meter_reading",
                    json=reading,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10,
                )
                assert posted.status_code < 300, posted.text
            yield s
        finally:
            stop_served(s)
    finally:
        emu.stop()


@pytest.fixture
def own_served(tmp_path: Path) -> Iterator[Served]:
    """A serve of the test's own, for tests that break its gateway."""
    emu = _emulator()
    try:
        s = start_served(tmp_path, emu)
        try:
            yield s
        finally:
            stop_served(s)
    finally:
        emu.stop()
