"""`energytui web`: the TUI served to a browser over loopback by textual-serve."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import pytest

from tests.support import free_port, wait_for_port


@pytest.fixture
def web_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "energytui.cli",
            "web",
            "--port",
            str(port),
            "--simulate",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


async def test_browser_session_draws_the_dashboard(web_server):
    port = web_server
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 200
            page = await resp.text()
            assert "energytui" in page and f"127.0.0.1:{port}/ws" in page
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30") as ws:
            await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
            seen = b""
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and b"Power flow" not in seen:
                try:
                    msg = await asyncio.wait_for(ws.receive(), timeout=2)
                except TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    seen += msg.data
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    seen += msg.data.encode()
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            assert b"Power flow" in seen
