"""``energytui serve``: the hub, its HTTP API and the optional MQTT sink, without the TUI.

Also :func:`start_api_in_loop`, which the TUI uses to serve the same API from
its own event loop. We bind the listening socket ourselves so that a port in
use becomes one sentence instead of uvicorn's traceback and exit, and we keep
uvicorn away from signal handlers and logging configuration, which belong to
whoever runs the loop (``run_serve`` here, Textual in the TUI).
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

log = logging.getLogger(__name__)


class ApiStartError(ConfigError):
    """The API could not listen; ``str()`` is one sentence naming what to change."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the caller owns signals)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """Open the listening socket, or raise :class:`ApiStartError` with one sentence."""
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
                "stop that program or choose another port with --port or api.port."
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ApiStartError(
                f"not allowed to listen on {where}; use a port above 1023 with --port or api.port."
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
    return await _start_api(hub, config, bind_socket(config.api.host, config.api.port))


async def _start_api(hub: Hub, config: Config, sock: socket.socket) -> ApiHandle:
    from energytui.api import create_api

    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        create_api(hub, config),
        lifespan="off",
        log_config=None,  # keep the caller's logging (the TUI logs to a file)
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
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


def _build_hub(config: Config) -> Hub:
    """The hub with its store; without one (and saying so) if the store module is missing."""
    from energytui.runtime import build_hub

    try:
        return build_hub(config)
    except ImportError as exc:  # a build without the store package (or one half installed)
        if "energytui.store" not in f"{exc.name} {exc}":
            raise
        log.warning("the store is not available in this build; nothing will be recorded")
        return build_hub(config, with_store=False)


async def serve(config: Config, *, ready: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    # listen first: a port in use must not cost a store lock or a gateway login
    sock = bind_socket(config.api.host, config.api.port) if config.api.enabled else None
    try:
        hub = _build_hub(config)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    api: ApiHandle | None = None
    sink = None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if sock is not None:
            api = await _start_api(hub, config, sock)
        await hub.start()
        if config.mqtt.enabled:
            from energytui.sinks.mqtt import MqttSink

            sink = MqttSink(hub, config.mqtt, meter_stale_s=config.api.meter_stale_s)
            sink.start()
        reason = getattr(hub.store, "readonly_reason", None)
        if reason:
            print(f"energytui: {reason}", file=sys.stderr)
        where = api.url if api else "API disabled"
        print(
            f"energytui: serving {where} (Ctrl+C or SIGTERM to stop)", file=sys.stderr, flush=True
        )
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping")
        return 0
    finally:
        if sink is not None:
            sink.stop()
        if api is not None:
            await api.stop()
        await hub.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run_serve(config: Config) -> int:
    """The ``energytui serve`` command: 0 on a clean stop, 2 with one sentence on a user error."""
    from energytui.runtime import setup_logging

    setup_logging(config, to_stderr=True)
    try:
        return asyncio.run(serve(config))
    except ConfigError as exc:
        print(f"energytui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
