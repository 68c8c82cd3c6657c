"""``meter-agent serve``: run the capture loop and the HTTP API until stopped.

Kept apart from ``cli.py`` so the reading tools stay importable without FastAPI
and uvicorn. The capture loop and the server share one event loop; SIGINT and
SIGTERM (systemd's stop) end both cleanly and release the camera.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from meter_agent.config import AgentConfig, AgentConfigError, load_agent_config
from meter_agent.memory import limit_arenas

log = logging.getLogger(__name__)


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand; its handler (``args.func``) returns an exit code."""
    p = subparsers.add_parser(
        "serve",
        help="read the meter on a schedule and serve /meter, /readings, /health, /frame.jpg …",
        description=(
            "Capture and read the meter every ocr.interval_s (the seed's upload.interval_seconds) "
            "seconds, keep a history, push accepted readings to the hub, and serve the HTTP API."
        ),
    )
    p.add_argument("--config", "-c", required=True, metavar="FILE", help="meter-agent JSON config")
    p.add_argument("--host", help="address to listen on (default: server.host from the config)")
    p.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    p.add_argument(
        "--log-level",
        help="debug, info, warning or error (default: LOG_LEVEL, else logging.level, else info)",
    )
    p.set_defaults(func=run_serve, handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Load the config, start everything, and block until SIGINT/SIGTERM."""
    try:
        config = load_agent_config(args.config)
    except AgentConfigError as exc:
        print(f"meter-agent: {exc}", file=sys.stderr)
        return 2
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(f"meter-agent: --port {port} is not a TCP port (0–65535).", file=sys.stderr)
        return 2
    # the port first: an agent that cannot serve must not capture, log or keep any state
    # (a second agent started by mistake would otherwise read the meter and save its state
    # beside the running one's before failing)
    try:
        listener = bind_listener(host, port)
    except OSError as exc:
        print(f"meter-agent: {cannot_listen(host, port, exc)}", file=sys.stderr)
        return 2
    # before any worker thread allocates: see meter_agent.memory
    limit_arenas(1)
    try:
        return asyncio.run(
            serve(config, Path(args.config), host, port, args.log_level, listener=listener)
        )
    except KeyboardInterrupt:
        return 0
    finally:
        listener.close()


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (not yet listening; uvicorn does that).

    Raises OSError when the address is taken or not this machine's. SO_REUSEADDR lets a
    restarted agent take its port back from connections still closing (TIME_WAIT); it does
    not let two programs listen on one port."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """One sentence for a port that cannot be had."""
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host}:{port}: {host} is not an address of this machine."
    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
        why = (
            "another program is using the port"
            if exc.errno == errno.EADDRINUSE
            else "ports below 1024 need root or CAP_NET_BIND_SERVICE"
        )
        return f"cannot listen on {host}:{port}; {why}; nothing was captured or saved."
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}); nothing was captured or saved."


async def serve(
    config: AgentConfig,
    config_path: Path | None,
    host: str,
    port: int,
    log_level: str | None = None,
    *,
    listener: socket.socket | None = None,
) -> int:
    """Run the service loop and uvicorn side by side; returns an exit code.

    ``listener``: the socket :func:`bind_listener` bound already (``run_serve`` binds it
    before anything else); without one it is bound here, still before the service starts."""
    import uvicorn

    from meter_agent.http_guard import MAX_HEADER_BYTES, HeaderDeadlineH11
    from meter_agent.logging_setup import level_from, quiet_opencv, setup_logging
    from meter_agent.quiet_server import QuietServer
    from meter_agent.server import create_app
    from meter_agent.service import MeterService, resolve_path

    if listener is None:
        try:
            listener = bind_listener(host, port)
        except OSError as exc:
            print(f"meter-agent: {cannot_listen(host, port, exc)}", file=sys.stderr)
            return 2
    port = listener.getsockname()[1]  # the port the system chose for --port 0
    base = config_path.resolve().parent if config_path else Path.cwd()
    log_file = resolve_path(base, config.storage.log_file) if config.storage.log_file else None
    level = chosen_log_level(log_level, config, os.environ)
    setup_logging(config.storage, log_file, level)
    quiet_opencv(level_from(level))
    for key in config.overridden_seed_keys:
        log.warning("%s is ignored: the config also sets energytui's key for it", key)
    try:
        service = MeterService(config, config_path)
    except AgentConfigError as exc:
        print(f"meter-agent: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"meter-agent: cannot prepare storage{where}: {exc.strerror or exc}.", file=sys.stderr
        )
        return 1
    except ValueError as exc:  # a digit model (ocr.digit_model) that cannot be loaded
        print(f"meter-agent: {exc}", file=sys.stderr)
        return 2
    app = create_app(service)
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        # the limits on what a client may send: see meter_agent.http_guard
        http=HeaderDeadlineH11,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_keep_alive=5,
    )
    server = QuietServer(uv_config)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(service.run(stop), name="meter-service")
    log.info(
        "meter-agent serving on http://%s:%d (source %s, every %g s)",
        host,
        port,
        config.camera.source,
        config.ocr.interval_s,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; a quiet handler of
    # our own (which it restores first) lets the capture loop finish and release the camera.
    _quiet_signals()
    try:
        await server.serve(sockets=[listener])
    except SystemExit:  # uvicorn exits when it cannot serve; say so in one sentence instead
        pass
    finally:
        stop.set()
        await loop_task
    if not server.started:
        print(f"meter-agent: cannot serve on {host}:{port}; see the log.", file=sys.stderr)
        return 1
    return 0


def chosen_log_level(
    flag: str | None, config: AgentConfig, environ: Mapping[str, str]
) -> str | None:
    """``--log-level``, else LOG_LEVEL, else the config's ``logging.level`` (the seed's key):
    the nearer to this one run, the stronger, as for energytui's own settings."""
    return flag or environ.get("LOG_LEVEL") or config.logging.level or None


def _quiet_signals() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: log.info("signal %d: stopping", signum))
