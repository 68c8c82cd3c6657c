"""A real VictoriaMetrics on loopback for the InfluxDB writer's tests.

VictoriaMetrics accepts InfluxDB line protocol on /api/v2/write and gives every stored
sample back on /api/v1/export, duplicates included (no -dedup flag), so a test can
check that each point arrived exactly once. A field ``f`` of measurement ``m`` comes
back as the series ``m_f`` with the point's tags as labels; timestamps are in ms.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.hub_support import wait_for
from tests.support import free_port

VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


class Victoria:
    """One victoria-metrics process on 127.0.0.1:port with its own storage dir."""

    def __init__(self, storage: Path, port: int | None = None, *extra_args: str) -> None:
        self.storage = storage
        self.port = port or free_port()
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                VICTORIA,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.storage}",
                "-retentionPeriod=1y",
                "-loggerLevel=ERROR",
                "-memory.allowedPercent=5",
                "-search.disableCache",
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code in (200, 401):
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("victoria-metrics did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def export(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]]:
        """Every stored sample: (series name, labels) -> [(ms, value)] in time order."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10.0)
        r = httpx.post(
            f"{self.url}/api/v1/export",
            data={"match[]": '{__name__=~"power_.+|meter_.+"}'},
            timeout=10.0,
        )
        r.raise_for_status()
        out: dict = {}
        for raw in r.text.splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            metric = dict(row["metric"])
            name = metric.pop("__name__")
            key = (name, tuple(sorted(metric.items())))
            out[key] = sorted(zip(row["timestamps"], row["values"], strict=True))
        return out

    def settled(self, name: str, expect: int, timeout: float = 15.0) -> list[tuple[int, float]]:
        """``series(name)`` once it holds at least ``expect`` samples: samples become
        searchable a moment after the write was answered, even after a force_flush.
        Read once more after a pause so that a duplicate would show too."""
        deadline = time.monotonic() + timeout
        while len(self.series(name)) < expect and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        return self.series(name)

    def series(self, name: str) -> list[tuple[int, float]]:
        """All samples of one series name, whatever its labels, in time order."""
        rows: list[tuple[int, float]] = []
        for (n, _labels), values in self.export().items():
            if n == name:
                rows.extend(values)
        return sorted(rows)


@pytest.fixture
def victoria(tmp_path) -> Iterator[Victoria]:
    if not Path(VICTORIA).exists():
        pytest.skip("victoria-metrics is not installed (scripts/bootstrap.sh installs it)")
    vm = Victoria(tmp_path / "vm-data")
    vm.start()
    yield vm
    vm.stop()


@pytest.fixture
def victoria_factory(tmp_path) -> Iterator[Callable[..., Victoria]]:
    """Victorias that a test starts itself (e.g. later, on a port chosen beforehand)."""
    if not Path(VICTORIA).exists():
        pytest.skip("victoria-metrics is not installed (scripts/bootstrap.sh installs it)")
    made: list[Victoria] = []

    def make(port: int | None = None, *extra_args: str) -> Victoria:
        vm = Victoria(tmp_path / "vm-data", port, *extra_args)
        made.append(vm)
        return vm

    yield make
    for vm in made:
        vm.stop()


class StallProxy:
    """A TCP proxy in front of a server that can be told to stall: while stalled it
    accepts and reads but never forwards nor answers (a database that hangs), and what
    it read is thrown away when the client gives up, so a timed-out write never lands
    later behind the writer's back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stalled = threading.Event()
        self.delay_s = 0.0
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(16)
        self.port = self._srv.getsockname()[1]
        self._closed = False
        self.stalled_connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.stalled.is_set():
            self.stalled_connections += 1
            conn.settimeout(0.2)
            with conn:
                while not self._closed and self.stalled.is_set():
                    try:
                        if not conn.recv(65536):
                            return  # the client gave up: drop what it sent
                    except TimeoutError:
                        continue
                    except OSError:
                        return
            return  # stalled connections are never forwarded
        try:
            up = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            conn.close()
            return
        up.settimeout(None)

        def pipe(a: socket.socket, b: socket.socket, upstream: bool) -> None:
            try:
                while data := a.recv(65536):
                    if upstream and self.stalled.is_set():
                        continue  # a kept-alive connection stalls too: swallow it
                    if upstream and self.delay_s:
                        time.sleep(self.delay_s)  # slow, but within the writer's timeout
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(conn, up, True), daemon=True).start()
        pipe(up, conn, False)
        conn.close()
        up.close()

    def close(self) -> None:
        self._closed = True
        self._srv.close()


#: the shared poller, with the longer default a database round trip wants
wait_until = functools.partial(wait_for, timeout=20.0)
