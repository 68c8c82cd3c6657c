"""The hub's API under hostile bodies: oversized, slow, deeply nested, unauthenticated.

The hub is built as ``energytui serve`` builds it (a real store on disk) and its API is
served by uvicorn on a real loopback socket; the clients below speak raw HTTP/1.1 over
asyncio streams so that they can lie about a body's length or stop half way, which an
HTTP library will not do. After every refused request the store holds nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psutil
import pytest

from energytui.api.limits import BODY_TIMEOUT_S, MAX_BODY_BYTES, MAX_HEAD_BYTES
from energytui.config import load_config
from energytui.hub import Hub
from energytui.runtime import build_hub
from energytui.serve import start_api_in_loop
from meter_agent.http_guard import HEADER_DEADLINE_S
from tests.support import REPO, free_port, wait_for_http

TOKEN = "limits-token"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
WRITE_PATHS = ("/meter_reading", "/api/v1/meter_reading")


@dataclass
class Served:
    hub: Hub
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stored(self) -> int:
        store = self.hub.store
        assert store is not None
        return sum(
            len(store.query(series, EPOCH, FAR, resolution="raw"))
            for series in ("meter", "meter_rejected")
        )


@pytest.fixture
async def served(tmp_path) -> AsyncIterator[Served]:
    config = load_config(
        environ={},
        overrides={"general": {"data_dir": str(tmp_path)}, "api": {"port": 0, "token": TOKEN}},
    )
    hub = build_hub(config)
    await hub.start()
    api = await start_api_in_loop(hub, config)
    try:
        yield Served(hub, api.port)
    finally:
        await api.stop()
        await hub.stop()


async def status_of(reader: asyncio.StreamReader, timeout: float) -> int | None:
    """The status code of the answer, or None when the server closed without one."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    if not line:
        return None
    return int(line.split()[1])


async def read_answer(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bytes]:
    """Status and body of one answer (the server must close or send Content-Length)."""
    status = await status_of(reader, timeout)
    assert status is not None, "the server closed without an answer"
    length = 0
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await asyncio.wait_for(reader.readexactly(length), timeout)


def head(path: str, length: int | None, *, auth: bool) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if auth:
        lines.append(f"Authorization: Bearer {TOKEN}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def flood(port: int, path: str, size: int, *, auth: bool) -> tuple[int | None, float]:
    """Declare ``size`` bytes and send them all whatever the server says, as curl or an
    HTTP library does, until the server stops listening; the answer is read meanwhile."""
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer: asyncio.Task[int | None] = asyncio.create_task(status_of(reader, 30.0))
    chunk = b"x" * 65536
    try:
        writer.write(head(path, size, auth=auth))
        for _ in range(0, size, len(chunk)):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    took = time.monotonic() - t0
    status = await answer
    writer.close()
    return status, took


PROBE = """
import sys, time, http.client
conn_port, seconds = int(sys.argv[1]), float(sys.argv[2])
worst, end = 0.0, time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", conn_port, timeout=30)
    c.request("GET", "/health")
    assert c.getresponse().status == 200
    c.close()
    worst = max(worst, time.monotonic() - t0)
    time.sleep(0.05)
print(worst)
"""


@pytest.fixture
def serve_process(tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[general]\ndata_dir = "{tmp_path / "data"}"\n[api]\nport = {port}\ntoken = "{TOKEN}"\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "serve", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", proc)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_twenty_32_mb_posts_are_refused_unread_while_health_stays_fast(serve_process):
    """``energytui serve`` in its own process: its memory, and /health as another process
    sees it, while twenty clients push 32 MB each (half without the token)."""
    proc, port = serve_process
    server = psutil.Process(proc.pid)
    rss = server.memory_info().rss
    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, str(port), "4", stdout=asyncio.subprocess.PIPE
    )
    await asyncio.sleep(0.3)
    size = 32 * 1024 * 1024
    results = await asyncio.gather(
        *(
            flood(port, WRITE_PATHS[i % 2], size, auth=auth)
            for i in range(10)
            for auth in (False, True)
        )
    )
    worst = float((await probe.communicate())[0])
    grown_mb = (server.memory_info().rss - rss) / 1e6
    for (status, took), auth in zip(results, [False, True] * 10, strict=True):
        # refused at the door: 401 without the token, 413 with it (the body is too large),
        # and the connection closed rather than 32 MB read and dropped; a client still
        # sending when it closes may get the reset before it reads the answer
        assert status in (413 if auth else 401, None), (status, took)
        assert took < 1.0, f"the server read {took:.1f} s of a refused body"
    assert grown_mb < 20, f"the server grew {grown_mb:.0f} MB"
    assert worst < 0.5, f"/health took up to {worst:.2f} s"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        count = (await c.get("/api/v1/history/meter", params={"days": 3650})).json()["count"]
    assert count == 0


@pytest.mark.parametrize("path", WRITE_PATHS)
async def test_a_chunked_body_past_the_cap_is_refused(served, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    answer = asyncio.create_task(status_of(reader, 5.0))
    piece = b"x" * 4096
    try:
        writer.write(head(path, None, auth=True))
        for _ in range(256):  # 1 MiB, far past the cap, until the server answers
            if answer.done():
                break
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.001)
    except ConnectionError:
        pass
    status = await answer
    writer.close()
    assert status == 413
    assert served.stored() == 0


@pytest.mark.parametrize("auth", [True, False])
@pytest.mark.parametrize("path", WRITE_PATHS)
async def test_a_body_shorter_than_its_content_length_is_let_go_within_seconds(served, path, auth):
    body = json.dumps({"reading_kwh": 1234.5}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    t0 = time.monotonic()
    writer.write(head(path, len(body) + 100, auth=auth) + body)  # 100 bytes never come
    await writer.drain()
    status = await status_of(reader, BODY_TIMEOUT_S + 5.0)
    took = time.monotonic() - t0
    # and the server hangs up: at once after a 408, within the deadline after a 401 that
    # left the (small) rest of the body to be drained
    rest = await asyncio.wait_for(reader.read(), BODY_TIMEOUT_S + 3.0)
    gone = time.monotonic() - t0
    writer.close()
    assert status == (408 if auth else 401)
    assert took < BODY_TIMEOUT_S + 3.0
    assert gone < BODY_TIMEOUT_S + 4.0
    assert b"HTTP/1.1" not in rest
    assert served.stored() == 0


async def test_many_half_sent_bodies_are_all_let_go(served):
    """Three hundred connections that promise more than they send do not pile up."""

    async def one() -> int | None:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(head("/meter_reading", 1000, auth=True) + b'{"reading_kwh": ')
        await writer.drain()
        try:
            return await status_of(reader, BODY_TIMEOUT_S + 10.0)
        finally:
            writer.close()

    t0 = time.monotonic()
    statuses = await asyncio.gather(*(one() for _ in range(300)))
    assert set(statuses) == {408}
    assert time.monotonic() - t0 < BODY_TIMEOUT_S + 8.0
    assert served.stored() == 0


NESTED = [
    ("/meter_reading", b"[" * 8000 + b"]" * 8000),
    ("/meter_reading", b'{"reading_kwh": ' + b"[" * 8000 + b"]" * 8000 + b"}"),
    ("/meter_reading", b'{"reading_kwh": 1.0, "x": ' + b'{"a":' * 2000 + b"1" + b"}" * 2001),
    ("/api/v1/meter_reading", b"[" * 8000 + b"]" * 8000),
    ("/api/v1/meter_reading", b'{"reading_kwh": ' + b"[" * 8000 + b"]" * 8000 + b"}"),
]


@pytest.mark.parametrize(("path", "body"), NESTED, ids=[f"nested{i}" for i in range(len(NESTED))])
async def test_deeply_nested_json_is_a_4xx_with_one_sentence(served, path, body):
    assert len(body) <= MAX_BODY_BYTES
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as c:
        r = await c.post(
            path,
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
    assert 400 <= r.status_code < 500, r.text
    sentence = r.json().get("detail") or r.json().get("reason")
    assert sentence.endswith(".") and "\n" not in sentence
    assert served.stored() == 0


async def test_a_refused_body_leaves_the_connection_usable_or_closed_never_stuck(served):
    """After a small over-cap body is refused the next request on the same connection
    is answered (the refused remainder was drained), as the seed's Pi reuses its
    connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    body = b"x" * (MAX_BODY_BYTES + 10)
    writer.write(head("/meter_reading", len(body), auth=True) + body)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    first, _ = await read_answer(reader, 5.0)
    second, _ = await read_answer(reader, 5.0)
    writer.close()
    assert (first, second) == (413, 200)


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /meter_reading HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"GET /hea"],
    ids=["nothing", "half-a-head", "half-a-line"],
)
async def test_a_request_head_that_never_ends_is_let_go(served, sent):
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    t0 = time.monotonic()
    writer.write(sent)
    await writer.drain()
    rest = await asyncio.wait_for(reader.read(), HEADER_DEADLINE_S + 5.0)
    writer.close()
    assert rest == b"" and time.monotonic() - t0 < HEADER_DEADLINE_S + 3.0


async def test_a_head_trickled_in_a_byte_at_a_time_is_let_go(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    t0 = time.monotonic()
    closed = False
    try:
        for byte in b"GET /health HTTP/1.1\r\nX-Pad: " + b"a" * 1000:
            writer.write(bytes([byte]))
            await writer.drain()
            if reader.at_eof():
                closed = True
                break
            try:
                closed = await asyncio.wait_for(reader.read(1), 0.5) == b""
            except TimeoutError:
                continue
            if closed:
                break
    except ConnectionError:
        closed = True
    writer.close()
    assert closed and time.monotonic() - t0 < HEADER_DEADLINE_S + 3.0


async def test_an_oversized_request_head_is_a_400(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    pad = b"X-Pad: " + b"a" * (MAX_HEAD_BYTES * 2) + b"\r\n"
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + pad + b"\r\n")
    status = await status_of(reader, 5.0)
    writer.close()
    assert status in (400, 431)


async def test_a_keep_alive_connection_still_serves_request_after_request(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    for _ in range(3):
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        assert (await read_answer(reader, 5.0))[0] == 200
        await asyncio.sleep(1.0)
    writer.close()


@pytest.mark.parametrize(
    "when", ["0001-01-04T00:00:00Z", "1999-12-31T12:00:00Z", "2100-01-02T00:00:00Z"]
)
@pytest.mark.parametrize("path", WRITE_PATHS)
async def test_a_reading_dated_outside_2000_to_2099_is_refused(served, path, when):
    body = {"reading_kwh": 12.5, "timestamp": when, "confidence": 0.99, "method": "manual"}
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as c:
        r = await c.post(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code in (400, 422), r.text
    sentence = r.json().get("detail") or r.json().get("reason")
    assert "timestamp: must be a date from 2000 to 2099" in sentence
    assert served.stored() == 0


async def test_a_method_a_route_does_not_take_is_a_405_sentence(served):
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as c:
        r = await c.put("/api/v1/meter_reading", json={"reading_kwh": 1.0})
        g = await c.get("/meter_reading")
    assert r.status_code == 405 and g.status_code == 405
    assert r.json() == {"detail": "PUT is not allowed on /api/v1/meter_reading; it answers POST."}
    assert g.json()["detail"].startswith("GET is not allowed on /meter_reading")
    assert served.stored() == 0
