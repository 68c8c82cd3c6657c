"""``energytui serve``: the hub, its HTTP API and the optional MQTT sink, without the TUI.

Also the API's server, which :class:`~energytui.runtime.Runtime` runs from the
event loop of whichever process serves it (`serve` here, the TUI's own).
We bind the listening socket ourselves so that a port in use becomes one
sentence instead of uvicorn's traceback and exit, and we keep uvicorn away from
signal handlers and logging configuration, which belong to whoever runs the
loop (``run_serve`` here, Textual in the TUI).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from energytui.config import Config, ConfigError
from energytui.hub import Hub
from energytui.runtime import Runtime, on_signals, setup_logging

log = logging.getLogger(__name__)


class ApiStartError(ConfigError):
    """The API could not listen; ``str()`` is one sentence naming what to change."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the caller owns signals)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


#: how the port is changed, named in the errors: `serve` has a --port flag, the TUI not
SERVE_PORT_SETTING = "--port or api.port"
TUI_PORT_SETTING = "api.port in the config file or the ENERGYTUI_API__PORT environment variable"


def bind_socket(host: str, port: int, *, setting: str = SERVE_PORT_SETTING) -> socket.socket:
    """Open the listening socket, or raise :class:`ApiStartError` with one sentence
    (``setting`` names how this program's user changes the port)."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        raise ApiStartError(
            f"the API address {host!r} cannot be resolved; set api.host to an IP address "
            "such as 127.0.0.1."
        ) from None
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ApiStartError(
                f"port {port} on {host} is already in use (is another energytui serving?); "
                f"stop that program or choose another port with {setting}."
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ApiStartError(
                f"not allowed to listen on {where}; use a port above 1023 with {setting}."
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ApiStartError(
                f"this machine has no address {host}; set api.host to one of its addresses."
            ) from None
        raise ApiStartError(f"cannot listen on {where} ({exc.strerror}).") from None
    return sock


@dataclass
class ApiHandle:
    """A running API server; ``await stop()`` ends it (the hub keeps running)."""

    server: uvicorn.Server
    task: asyncio.Task
    host: str
    port: int

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if host in ("0.0.0.0", "[::]", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self.task), timeout=5.0)
        if not self.task.done():
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def start_api_in_loop(hub: Hub, config: Config) -> ApiHandle:
    """Serve the API for ``hub`` as a task in the running loop; raises :class:`ApiStartError`."""
    return await serve_api_on(hub, config, bind_socket(config.api.host, config.api.port))


async def serve_api_on(hub: Hub, config: Config, sock: socket.socket) -> ApiHandle:
    """Serve the API for ``hub`` on a socket from :func:`bind_socket` (closed on failure)."""
    from energytui.api import create_api
    from energytui.api.limits import MAX_HEAD_BYTES
    from meter_agent.http_guard import HeaderDeadlineH11

    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        create_api(hub, config),
        lifespan="off",
        log_config=None,  # keep the caller's logging (the TUI logs to a file)
        access_log=False,
        server_header=False,
        # uvicorn believes X-Forwarded-For from a loopback peer by default: any process on
        # this machine could then claim an address in api.trusted_networks and write
        # without the token. The writer's address is the TCP peer's (energytui.api.auth)
        proxy_headers=False,
        timeout_graceful_shutdown=3,
        # a request's head must arrive within HEADER_DEADLINE_S (the agent's guard, one
        # protocol for both servers) and fit in MAX_HEAD_BYTES;
        # its body's size and deadline are the app's (energytui.api.limits)
        http=HeaderDeadlineH11,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=5,
    )
    server = _Server(uv_config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="api-server")
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        exc = task.exception()
        raise ApiStartError(f"the API server did not start ({exc or 'it stopped at once'}).")
    log.info("API listening on %s:%s", config.api.host, port)
    return ApiHandle(server=server, task=task, host=config.api.host, port=port)


async def serve(config: Config) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    runtime = Runtime.open(config)  # a port in use ends here, before the store is locked
    stop = asyncio.Event()
    undo_signals = on_signals((signal.SIGTERM, signal.SIGINT), stop.set)
    try:
        async with runtime:
            for warning in runtime.warnings:
                print(f"energytui: {warning}", file=sys.stderr)
            # not storing (a read-only or full disk, another writer): the hub's sentence
            reason = runtime.hub.store_error or getattr(runtime.hub.store, "readonly_reason", None)
            if reason:
                print(f"energytui: {reason}", file=sys.stderr)
            where = runtime.api.url if runtime.api else "API disabled"
            print(
                f"energytui: serving {where} (Ctrl+C or SIGTERM to stop)",
                file=sys.stderr,
                flush=True,
            )
            await stop.wait()
            log.info("stopping")
            return 0
    finally:
        undo_signals()


def run_serve(config: Config) -> int:
    """The ``energytui serve`` command: 0 on a clean stop, 2 with one sentence on a user error."""
    setup_logging(config, to_stderr=True)
    try:
        return asyncio.run(serve(config))
    except ConfigError as exc:
        print(f"energytui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
