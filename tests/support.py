"""Small helpers shared by tests that start real servers on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

#: the source checkout: where ``python -m devkit…`` and ``-m energytui…`` subprocesses run
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Wait until something accepts on 127.0.0.1:port; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"the server exited early: {err}") from None
            time.sleep(0.2)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout:g} s")


def wait_for_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers HTTP at all: a listening socket is not yet a ready
    server (``energytui serve`` binds its port before it opens the store)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            if proc is not None and proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"the server exited early: {err}") from None
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout:g} s")
