"""The gateway emulator on its own: the wire, sessions, the HTTP control endpoints, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading

import httpx
import pytest

from devkit.emulator import Emulator, FaultError
from devkit.emulator.__main__ import main
from tests.gateway_support import PASSWORD, one_sentence, until
from tests.support import REPO


def client(emu: Emulator) -> httpx.Client:
    return httpx.Client(base_url=emu.url, verify=False, timeout=5.0, trust_env=False)


def test_login_form_and_json_both_give_cookies_and_token(emulator: Emulator):
    with client(emulator) as c:
        form = c.post(
            "/api/login/Basic",
            data={"username": "customer", "password": PASSWORD, "email": "a@b.co"},
        )
        assert form.status_code == 200
        assert {"AuthCookie", "UserRecord"} <= set(form.cookies.keys())
        assert form.json()["token"] == form.cookies["AuthCookie"]
        js = c.post("/api/login/Basic", json={"username": "customer", "password": PASSWORD})
        assert js.status_code == 200 and js.json()["token"]
    assert emulator.counts.login_attempts == 2


def test_sessions_cookies_bearer_and_duplicated_pairs(emulator: Emulator):
    with client(emulator) as c:
        assert c.get("/api/meters/aggregates").status_code == 401
        token = c.post("/api/login/Basic", json={"password": PASSWORD}).json()["token"]
        c.cookies.clear()
        dup = f"AuthCookie={token}; UserRecord=x; AuthCookie={token}; UserRecord=x"
        r = c.get("/api/meters/aggregates", headers={"Cookie": dup})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert int(r.headers["content-length"]) == len(r.content)
        assert set(r.json()) == {"site", "battery", "load", "solar"}
        bearer = c.get("/api/system_status/soe", headers={"Authorization": f"Bearer {token}"})
        assert 5.0 <= bearer.json()["percentage"] <= 100.0
        assert c.get("/api/devices/vitals", headers={"Cookie": dup}).status_code == 404
        assert c.get("/api/status").status_code == 200  # public, like the real gateway


def test_wrong_password_is_401_with_the_gateway_body(emulator: Emulator):
    with client(emulator) as c:
        r = c.post("/api/login/Basic", data={"username": "customer", "password": "nope"})
    assert r.status_code == 401
    assert r.json() == {"code": 401, "error": "bad credentials", "message": "Login Error"}
    assert emulator.counts.login_failures == 1


def test_control_endpoints_drive_faults_from_a_shell(emulator: Emulator):
    with client(emulator) as c:
        r = c.post("/_emulator/fault", json={"name": "error", "status": 502})
        assert r.status_code == 200 and "error" in r.json()["active"]
        assert c.get("/api/status").status_code == 502
        stats = c.get("/_emulator/stats").json()
        assert stats["counts"]["by_path"]["GET /api/status"] == 1
        assert stats["faults"]["error"]["params"] == {"status": 502}
        assert c.post("/_emulator/clear", json={}).json()["active"] == {}
        assert c.get("/api/status").status_code == 200
        bad = c.post("/_emulator/fault", json={"name": "meltdown"})
        assert bad.status_code == 400 and one_sentence(bad.json()["error"])
        refuse = c.post("/_emulator/fault", json={"name": "refuse"})
        assert refuse.status_code == 400 and "for_s" in refuse.json()["error"]
        not_json = c.post("/_emulator/fault", content=b"{oops")
        assert not_json.status_code == 400 and one_sentence(not_json.json()["error"])


async def test_refuse_for_a_while_then_listen_again(emulator: Emulator):
    emulator.set_fault("refuse", for_s=0.3)
    assert not emulator.listening
    with pytest.raises(httpx.ConnectError), client(emulator) as c:
        c.get("/api/status")
    await until(lambda: emulator.listening)
    with client(emulator) as c:
        assert c.get("/api/status").status_code == 200


async def test_refuse_drops_a_connection_still_in_its_tls_handshake(emulator: Emulator):
    """A connection accepted just before ``refuse`` must not go on serving keep-alive requests."""

    def handlers() -> set[int | None]:
        return {t.ident for t in threading.enumerate() if "process_request" in t.name}

    before = handlers()
    raw = socket.create_connection((emulator.host, emulator.port), timeout=5)
    try:
        # the emulator has accepted it once a new handler thread waits in the TLS handshake
        await until(lambda: bool(handlers() - before))
        emulator.set_fault("refuse")
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        answer = b""
        with contextlib.suppress(OSError), ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = tls.recv(1024)
        assert not answer.startswith(b"HTTP/")
    finally:
        raw.close()


def test_count_limited_fault_clears_itself(emulator: Emulator):
    emulator.set_fault("error", status=500, count=2)
    with client(emulator) as c:
        assert [c.get("/api/status").status_code for _ in range(3)] == [500, 500, 200]


def test_bad_fault_requests_are_one_sentence(emulator: Emulator):
    with pytest.raises(FaultError) as info:
        emulator.set_fault("error", status=200)
    assert one_sentence(str(info.value))
    with pytest.raises(FaultError):
        emulator.set_fault("slow", delay_s="soon")


def test_operation_post_validates_and_applies(emulator: Emulator):
    with client(emulator) as c:
        c.post("/api/login/Basic", json={"password": PASSWORD})
        assert c.post("/api/operation", json={"real_mode": "turbo"}).status_code == 400
        assert c.post("/api/operation", json={"backup_reserve_percent": 140}).status_code == 400
        ok = c.post("/api/operation", json={"backup_reserve_percent": 43.0, "real_mode": "backup"})
        assert ok.status_code == 200 and ok.json()["real_mode"] == "backup"
    assert emulator.gateway.site.spec.reserve_pct == pytest.approx((43.0 - 5) / 0.95, abs=0.01)


def test_cli_rejects_a_bad_port_in_one_sentence(capsys):
    assert main(["--port", "70000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(".") and "\n" not in err


async def test_cli_runs_standalone_and_stops_on_sigterm(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.emulator", "--port", "0", "--password", "pw"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = await asyncio.to_thread(proc.stdout.readline)
        assert "https://127.0.0.1:" in line
        url = line.split(" on ")[1].split(" ")[0]
        with httpx.Client(verify=False, trust_env=False, timeout=5) as c:
            assert c.get(url + "/api/status").status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_cli_reports_the_capacity_of_its_two_batteries():
    """Issue 16: the emulator run by hand reports 27 kWh (two Powerwall 2), and
    --no-battery-blocks leaves system_status without blocks, as some gateways answer."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    args = ["--port", "0", "--password", "pw", "--no-battery-blocks"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.emulator", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = await asyncio.to_thread(proc.stdout.readline)
        url = line.split(" on ")[1].split(" ")[0]
        with httpx.Client(verify=False, trust_env=False, timeout=5) as c:
            login = c.post(
                url + "/api/login/Basic",
                json={"username": "customer", "password": "pw", "email": "a@b.c"},
            )
            assert login.status_code == 200
            status = c.get(url + "/api/system_status").json()
        assert status["nominal_full_pack_energy"] == pytest.approx(27000.0)
        assert status["battery_blocks"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 10)
