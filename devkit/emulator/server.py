"""The emulator's HTTPS listener and its Python control API.

Plain ``http.server`` in threads, with TLS done per connection in the worker
thread (a slow or broken handshake must not stall ``accept``). Every response
goes out in one ``sendall`` with a Content-Length, on an HTTP/1.1 keep-alive
connection with TCP_NODELAY: Python's default of writing headers and body
separately costs ~44 ms per request over loopback (Nagle meets delayed ACK).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import socket
import socketserver
import ssl
import tempfile
import threading
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any

from devkit.emulator.certs import make_self_signed
from devkit.emulator.faults import FAULTS, FaultBook, FaultError, make_fault
from devkit.emulator.gateway import (
    NOT_FOUND,
    PUBLIC_PATHS,
    RATE_LIMITED,
    UNAUTHORIZED,
    Counts,
    Gateway,
    Reply,
)
from energytui.clock import Clock
from energytui.model import iso_z
from energytui.sources.simulated import SimulatedSite

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_emulator/"
GARBAGE = b'{"site": {"instant_power": 1234.5, "energy_exp'  # cut off mid-object
MAX_BODY = 64 * 1024


class _Listener(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """One listening socket; remembers its open connections so ``refuse`` can drop them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        self.closed = False  # set by drop_connections: no connection may outlive the listener
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup for server_name; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshakes that fail and peers that vanish are normal for a test target.
        log.debug("emulator: connection from %s ended with an error", client_address, exc_info=True)

    def drop_connections(self) -> None:
        with self.conn_lock:
            self.closed = True
            conns = list(self.connections)
            self.connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TeslaGateway-Emulator"
    sys_version = ""
    server: _Listener

    # -- connection set-up -------------------------------------------------------
    def setup(self) -> None:
        raw: socket.socket = self.request
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(30.0)  # an idle keep-alive connection is closed after this
        tls = self.server.emulator.tls
        assert tls is not None, "the listener only runs after start() made the TLS context"
        self.request = tls.wrap_socket(raw, server_side=True)
        with self.server.conn_lock:
            if self.server.closed:
                # Accepted just before ``refuse`` and still in its TLS handshake when the
                # listener's connections were dropped: left alone it would go on serving
                # keep-alive requests, and the client would never see the refusal.
                self.request.shutdown(socket.SHUT_RDWR)
                raise ConnectionAbortedError("the emulator stopped listening")
            self.server.connections.add(self.request)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.request)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("emulator: " + format, *args)

    # -- verbs ---------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._serve("POST")

    # -- the request -----------------------------------------------------------------
    def _serve(self, method: str) -> None:
        emu = self.server.emulator
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        if body is None:
            return
        if path.startswith(CONTROL_PREFIX):
            self._send(emu._control(method, path, body))
            return
        gw = emu.gateway
        gw.count(method, path)
        fault = emu.faults.pick(path)
        if fault is not None:
            if fault.name == "hang":
                # hold the request past the client's timeout, then drop it unanswered
                emu._release.wait(fault.params["seconds"])
                self.close_connection = True
                return
            if fault.name == "slow":
                emu._release.wait(fault.params["delay_s"])
            elif fault.name == "rate_limit":
                self._send(RATE_LIMITED)
                return
            elif fault.name == "error":
                status = fault.params["status"]
                reason = (
                    HTTPStatus(status).phrase
                    if status in HTTPStatus._value2member_map_
                    else "Error"
                )
                self._send(Reply.json(status, {"code": status, "error": reason, "message": reason}))
                return
            elif fault.name == "garbage":
                self._send(Reply(200, GARBAGE, "application/json"))
                return
            elif fault.name == "not_json":
                self._send(Reply(200, b"TIMEOUT!", "text/plain; charset=utf-8"))
                return
        self._send(self._route(method, path, body))

    def _route(self, method: str, path: str, body: bytes) -> Reply:
        emu = self.server.emulator
        gw = emu.gateway
        cookies = ", ".join(self.headers.get_all("Cookie") or [])
        cookies = cookies.replace(",", ";")
        auth = self.headers.get("Authorization", "")
        if path == "/api/login/Basic" and method == "POST":
            reject = emu.faults.active("wrong_password") is not None
            return gw.login(body, self.headers.get("Content-Type", ""), reject_all=reject)
        if path == "/api/logout":
            gw.logout(cookies, auth)
            return Reply(204)
        if path == "/" and method == "GET":
            page = b"<html><body><h1>Tesla Energy Gateway (energytui emulator)</h1></body></html>"
            return Reply(200, page, "text/html; charset=utf-8")
        if path not in PUBLIC_PATHS and not gw.authorized(cookies, auth):
            return UNAUTHORIZED
        if method == "POST":
            if path != "/api/operation":
                return NOT_FOUND
            try:
                obj = json.loads(body or b"null")
            except ValueError:
                obj = None
            return gw.set_operation(obj)
        if path == "/api/devices/vitals":
            if emu.vitals_404:
                return NOT_FOUND  # firmware >= 23.44 removed the vitals endpoint
            return emu._vitals()
        reply = gw.get(path)
        return reply if reply is not None else NOT_FOUND

    # -- wire helpers -------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_BODY:
            self._send(Reply.json(413, {"code": 413, "error": "bad Content-Length"}))
            self.close_connection = True
            return None
        return self.rfile.read(n)

    def _send(self, reply: Reply) -> None:
        status = reply.status
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Length: {len(reply.body)}",
        ]
        if reply.body or status != 204:
            lines.append(f"Content-Type: {reply.content_type}")
        for name, value in reply.cookies:
            lines.append(f"Set-Cookie: {name}={value}; Path=/; Secure; HttpOnly")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class Emulator:
    """A Tesla Energy Gateway on loopback, answering pypowerwall's local mode.

    Values come from ``site`` (a :class:`SimulatedSite`) moved along ``clock``;
    faults are set by name (see :data:`devkit.emulator.faults.FAULTS`) from
    Python or from the HTTP control endpoints under ``/_emulator/``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str = "emulator",
        site: SimulatedSite | None = None,
        *,
        clock: Clock | None = None,
        cert_dir: Path | None = None,
        firmware: str = "24.44.1 c58c2df3",
        site_name: str = "Emulated Home",
        allow_control: bool = True,
    ) -> None:
        self.host = host
        self._port = port
        self.gateway = Gateway(
            site or SimulatedSite(),
            clock or Clock(),
            password,
            firmware=firmware,
            site_name=site_name,
            allow_control=allow_control,
        )
        self.faults = FaultBook()
        self._cert_dir = cert_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.tls: ssl.SSLContext | None = None  # made by start()
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._release = threading.Event()  # set to end held (hang/slow) requests early
        self._lock = threading.RLock()
        self._resume_timer: threading.Timer | None = None

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> Emulator:
        """Make the certificate, bind, and serve in a background thread; returns self."""
        with self._lock:
            if self._listener is not None:
                return self
            if self._cert_dir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="energytui-emulator-")
                cert_dir = Path(self._tmp.name)
            else:
                cert_dir = self._cert_dir
            cert, key = make_self_signed(cert_dir)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            self.tls = ctx
            self._stopping.clear()
            self._listen()
        return self

    def stop(self) -> None:
        """Stop serving, end hanging requests and remove the temporary certificate."""
        with self._lock:
            self._stopping.set()
            self._release.set()
            if self._resume_timer is not None:
                self._resume_timer.cancel()
                self._resume_timer = None
            self._unlisten()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        listener = _Listener((self.host, self._port), self)
        self._port = listener.server_port
        self._listener = listener
        self._thread = threading.Thread(
            target=listener.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.shutdown()
        listener.server_close()
        listener.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- addresses ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def host_port(self) -> str:
        """``host:port`` as pypowerwall's ``host`` argument wants it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._port}"

    @property
    def url(self) -> str:
        return f"https://{self.host_port}"

    @property
    def listening(self) -> bool:
        return self._listener is not None

    # -- faults ------------------------------------------------------------------------------
    def set_fault(self, name: str, **params: Any) -> None:
        """Switch a fault on (see ``FAULTS``); ``paths``, ``count`` and ``for_s`` limit it.

        Raises :class:`FaultError` (a ValueError) with one sentence for a bad request.
        """
        fault = make_fault(name, params)
        with self._lock:
            if name == "session_expired":
                self.gateway.end_sessions()
                return
            if name == "outage":
                self.gateway.set_outage(True)
            elif name == "wrong_password":
                self.gateway.end_sessions()
            elif name == "refuse":
                self._unlisten()
                if fault.until is not None:
                    delay = max(0.0, float(params["for_s"]))
                    self._resume_timer = threading.Timer(delay, self.clear_faults, args=("refuse",))
                    self._resume_timer.daemon = True
                    self._resume_timer.start()
            self.faults.set(fault)

    def clear_faults(self, name: str | None = None) -> None:
        """Clear one fault by name, or all of them: the gateway behaves again."""
        with self._lock:
            names = list(self.faults.snapshot()) if name is None else [name]
            if name is None or name == "refuse":
                names.append("refuse")
            self.faults.clear(name)
            if name is None or name in ("hang", "slow"):
                held, self._release = self._release, threading.Event()
                held.set()
            if "outage" in names:
                self.gateway.set_outage(False)
            if "refuse" in names and self._listener is None and not self._stopping.is_set():
                if self._resume_timer is not None:
                    self._resume_timer.cancel()
                    self._resume_timer = None
                self._listen()

    @property
    def active_faults(self) -> dict[str, dict[str, Any]]:
        return self.faults.snapshot()

    # -- counts ------------------------------------------------------------------------------
    @property
    def counts(self) -> Counts:
        """Requests per ``"METHOD /path"``, total, login attempts and failures (a copy)."""
        return self.gateway.counts()

    def reset_counts(self) -> None:
        self.gateway.reset_counts()

    @property
    def vitals_404(self) -> bool:
        """Firmware 23.44 and later answer 404 for ``/api/devices/vitals``."""
        try:
            major, minor = (int(x) for x in self.gateway.firmware.split(" ")[0].split(".")[:2])
        except ValueError:
            return True
        return (major, minor) >= (23, 44)

    def _vitals(self) -> Reply:
        from devkit.emulator.vitals import vitals_bytes

        gw = self.gateway
        body = vitals_bytes(gw.sample(), gw.site.spec.battery_kwh, gw.site.outage)
        return Reply(200, body, "application/octet-stream")

    def stats(self) -> dict[str, Any]:
        sample = self.gateway.sample()
        return {
            "url": self.url,
            "counts": self.counts.to_dict(),
            "faults": self.active_faults,
            "site": sample.to_dict(),
            "real_mode": self.gateway.real_mode,
            "reserve_pct": self.gateway.site.spec.reserve_pct,
            "time": iso_z(self.gateway.clock.now()),
        }

    # -- HTTP control --------------------------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> Reply:
        """``/_emulator/*``: drive the emulator from a shell with curl."""
        name = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            obj = json.loads(body) if body else {}
        except ValueError:
            return Reply.json(400, {"error": "The request body is not valid JSON."})
        if not isinstance(obj, dict):
            return Reply.json(400, {"error": "The request body must be a JSON object."})
        if method == "GET" and name == "stats":
            return Reply.json(200, self.stats())
        if method == "GET" and name == "faults":
            return Reply.json(200, {"available": FAULTS, "active": self.active_faults})
        if method == "POST" and name == "fault":
            fault = obj.pop("name", None)
            if not isinstance(fault, str):
                return Reply.json(400, {"error": 'Give the fault as {"name": "...", ...}.'})
            if fault == "refuse" and "for_s" not in obj:
                return Reply.json(
                    400,
                    {
                        "error": "Over HTTP, 'refuse' needs for_s (seconds), or nobody could clear it."
                    },
                )
            try:
                if fault == "refuse":
                    make_fault(fault, obj)  # validate now, act after this reply is sent
                    timer = threading.Timer(0.05, self.set_fault, args=(fault,), kwargs=obj)
                    timer.daemon = True
                    timer.start()
                else:
                    self.set_fault(fault, **obj)
            except FaultError as exc:
                return Reply.json(400, {"error": str(exc)})
            return Reply.json(200, {"ok": True, "active": self.active_faults})
        if method == "POST" and name == "clear":
            which = obj.get("name")
            self.clear_faults(which if isinstance(which, str) else None)
            return Reply.json(200, {"ok": True, "active": self.active_faults})
        if method == "POST" and name == "reset_counts":
            self.reset_counts()
            return Reply.json(200, {"ok": True})
        if method == "POST" and name == "password":
            pw = obj.get("password")
            if not isinstance(pw, str) or not pw:
                return Reply.json(400, {"error": 'Give the new password as {"password": "..."}.'})
            self.gateway.set_password(pw)
            return Reply.json(200, {"ok": True})
        return Reply.json(404, {"error": f"No control endpoint {method} {path}."})
