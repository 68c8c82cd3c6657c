"""What a client may send a real ``meter-agent serve``: every bad body, query or slow
sender is answered 4xx with one sentence (or the connection is closed) within seconds,
nothing is stored, the server's memory stays flat, and the connection or the next one
still works. Raw sockets on 127.0.0.1, so nothing between test and server tidies up the
bytes."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import ServeProcess, rss_kb
from service_support import TOKEN, write_config

AUTH = f"Authorization: Bearer {TOKEN}\r\n"


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("agent")
    with ServeProcess(write_config(tmp, ocr={"interval_s": 86400.0})) as a:
        with httpx.Client(base_url=a.url, timeout=30) as c:
            deadline = time.monotonic() + 60
            # the first scheduled round is recorded: the history changes only on request now
            params = {"include_rejected": True}
            while c.get("/readings", params=params).json()["count"] == 0:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield a


def connect(agent: ServeProcess) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (Content-Length framed, as the agent answers)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def closed_within(s: socket.socket, seconds: float) -> bool:
    """True when the server closes ``s`` (EOF or reset) within ``seconds``."""
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def history_lines(agent: ServeProcess) -> int:
    path = agent.config_path.parent / "data" / "history.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/reading"), ("PUT", "/calibration"), ("POST", "/ocr")]
)
def test_json_nested_100000_deep_is_400_and_the_connection_lives_on(
    agent: ServeProcess, method: str, path: str
) -> None:
    before = history_lines(agent)
    deep = b'{"digits": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with connect(agent) as s:
        s.sendall(request(method, path, deep, AUTH))
        status, _, body = read_response(s)
        assert status == 400, body
        detail = json.loads(body)["detail"]
        assert "nests deeper" in detail and detail.endswith(".")
        s.sendall(request("GET", "/health"))  # the same kept-alive connection
        assert read_response(s)[0] == 200
    assert history_lines(agent) == before


def test_a_since_before_year_1_in_utc_is_400_and_the_connection_lives_on(
    agent: ServeProcess,
) -> None:
    with connect(agent) as s:
        for since in ("0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00"):
            s.sendall(request("GET", f"/readings?since={since}"))
            status, _, body = read_response(s)
            assert status == 400, body
            assert "since" in json.loads(body)["detail"]
        s.sendall(request("GET", "/health"))
        assert read_response(s)[0] == 200


def test_a_20_mb_body_is_refused_before_it_is_read(agent: ServeProcess) -> None:
    rss_before = rss_kb(agent.pid)
    before = history_lines(agent)
    size = 20 * 1024 * 1024
    chunk = b"x" * 65536
    # unauthenticated, declared: refused on the headers alone
    with connect(agent) as s:
        t0 = time.monotonic()
        head = (
            f"PUT /reading HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        s.sendall(head.encode() + chunk)
        status, headers, body = read_response(s)
        assert status in (401, 413) and time.monotonic() - t0 < 2, body
        assert headers.get("connection") == "close"
        assert json.loads(body)["detail"].endswith(".")
    # unauthenticated, chunked (no length to refuse it by): the token is checked first
    with connect(agent) as s:
        t0 = time.monotonic()
        s.sendall(
            b"PUT /reading HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"10000\r\n"
            + chunk
            + b"\r\n"
        )
        status, headers, _ = read_response(s)
        assert status == 401 and time.monotonic() - t0 < 2
        assert headers.get("connection") == "close"
        assert closed_within(s, 5)
    # authenticated, chunked: read up to the cap and no further
    with connect(agent) as s:
        t0 = time.monotonic()
        s.sendall(
            b"PUT /reading HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + AUTH.encode()
            + b"\r\n"
        )
        sent = 0
        try:
            while sent < size:
                s.sendall(b"10000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = read_response(s)
        assert status == 413, body
        assert time.monotonic() - t0 < 5 and sent < size
    assert rss_kb(agent.pid) - rss_before < 10_000  # kB: the bodies were never held
    assert history_lines(agent) == before


def test_a_body_promised_but_not_sent_is_408_within_seconds(agent: ServeProcess) -> None:
    before = history_lines(agent)
    with connect(agent) as s:
        t0 = time.monotonic()
        s.sendall(
            b"PUT /reading HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n" + AUTH.encode() + b'\r\n{"digits": '
        )
        status, headers, body = read_response(s)
        assert status == 408, body
        assert time.monotonic() - t0 < 8
        assert headers.get("connection") == "close" and closed_within(s, 5)
    # unauthenticated: refused at once, the rest never waited for
    with connect(agent) as s:
        t0 = time.monotonic()
        s.sendall(b"PUT /calibration HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n{")
        assert read_response(s)[0] == 401 and time.monotonic() - t0 < 2
        assert closed_within(s, 5)
    assert history_lines(agent) == before


def test_headers_sent_slowly_are_cut_off(agent: ServeProcess) -> None:
    with connect(agent) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\n")
        for _ in range(3):  # a byte now and then keeps uvicorn's own idle timer at bay
            time.sleep(1)
            s.sendall(b"X")
        assert closed_within(s, 10)
        assert time.monotonic() - t0 < 10
    # an idle connection that never sends anything is closed too
    with connect(agent) as s:
        t0 = time.monotonic()
        assert closed_within(s, 10) and time.monotonic() - t0 < 10
    with httpx.Client(base_url=agent.url, timeout=10) as c:  # the agent serves on
        assert c.get("/health").status_code == 200


def test_no_body_route_with_a_big_body_does_not_keep_the_connection(
    agent: ServeProcess, tmp_path: Path
) -> None:
    with connect(agent) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500000\r\n\r\nabc")
        status, headers, _ = read_response(s)
        assert status == 200 and headers.get("connection") == "close"
        assert closed_within(s, 5)


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0),
        (b'{"digits": "012345"}', 1),
        (b'{"roi": [1, 2, 3, 4]}', 2),
        (b'{"a": "[[[\\\\", "b": [[1]]}', 3),  # an escaped backslash ends the string
        (b'{"a": "x\\"[[{"}', 1),  # an escaped quote does not
        (b"[" * 1000 + b"]" * 1000, 1000),
    ],
)
def test_json_depth_counts_brackets_outside_strings_only(raw: bytes, depth: int) -> None:
    from meter_agent.http_guard import json_depth

    assert json_depth(raw) == depth


def test_a_megabyte_of_escaped_quotes_is_answered_at_once(agent: ServeProcess) -> None:
    """The depth check is linear: a body made to make a string scan go quadratic (a
    regular expression over it took 9 s for 40 kB) is answered like any other."""
    body = b'{"digits": "' + b'\\"' * 500_000 + b'"}'
    with connect(agent) as s:
        s.settimeout(15)
        s.sendall(request("PUT", "/reading", body, AUTH))
        status, _, answer = read_response(s)
        assert status == 422, answer
