"""The `energytui` command: the monitor, and its helpers (serve, emulator, web).

Every user error ends as one sentence on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energytui import __version__
from energytui.config import Config, ConfigError, load_config


def _common(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """The options every command takes, before or after its name. On a subcommand they
    default to "not given" (SUPPRESS): argparse would otherwise let the subcommand's
    defaults overwrite what was given before it (``energytui --data-dir X serve``)."""
    kw: dict = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config file (default: the platform config dir)",
        **kw,
    )
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR", **kw)
    p.add_argument("--timezone", help="IANA time zone for the screens, e.g. Europe/Berlin", **kw)
    p.add_argument("--data-dir", metavar="DIR", help="where the store and logs live", **kw)
    p.add_argument("--powerwall", metavar="HOST[:PORT]", help="Powerwall gateway address", **kw)
    p.add_argument(
        "--simulate",
        action="store_true",
        help="use the simulated site even if a Powerwall is configured",
        **kw,
    )
    p.add_argument(
        "--accelerate", type=float, metavar="X", help="simulated time runs X times faster", **kw
    )
    p.add_argument(
        "--meter",
        metavar="URL",
        help="meter_agent base URL (http://pi.local:5000) or its /meter URL",
        **kw,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="energytui",
        description="Live terminal monitor for a home solar system (Powerwall + camera-read meter).",
    )
    p.add_argument("--version", action="version", version=f"energytui {__version__}")
    _common(p)
    p.add_argument(
        "--kiosk", action="store_true", help="no input needed: large type, screens cycle"
    )
    p.add_argument(
        "--console", action="store_true", help="Linux console mode: 16 colours, console-font glyphs"
    )
    p.add_argument(
        "--no-store", action="store_true", help="do not open the store (nothing is recorded)"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("serve", help="run the hub and its HTTP API without the TUI")
    _common(s, sub=True)
    s.add_argument("--host", help="API bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="API port (default 8000)")
    w = sub.add_parser(
        "web", help="serve the same TUI in a browser (textual-serve), on loopback by default"
    )
    _common(w, sub=True)
    w.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    w.add_argument("--port", type=int, default=8080, help="port (default 8080; 8000 is the API's)")
    e = sub.add_parser(
        "emulator", help="run a Powerwall gateway emulator on loopback", add_help=False
    )
    e.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _overrides(args: argparse.Namespace) -> dict:
    o: dict = {}

    def put(section: str, key: str, value) -> None:
        if value is not None:
            o.setdefault(section, {})[key] = value

    put("general", "log_level", args.log_level)
    put("general", "timezone", args.timezone)
    put("general", "data_dir", args.data_dir)
    put("powerwall", "host", args.powerwall)
    put("simulated", "accelerate", args.accelerate)
    put("meter", "endpoint", args.meter)
    if args.simulate:
        put("powerwall", "host", "")
        put("powerwall", "mode", "local")
    if getattr(args, "kiosk", False):
        put("tui", "kiosk", True)
    if getattr(args, "console", False):
        put("tui", "console", True)
    if getattr(args, "host", None):
        put("api", "host", args.host)
    if getattr(args, "port", None) is not None:
        put("api", "port", args.port)
    return o


def _fail(message: str) -> int:
    print(f"energytui: {message}", file=sys.stderr)
    return 2


def run_tui(config: Config, *, with_store: bool = True) -> int:
    """Run the TUI; in kiosk mode a crash restarts it after a pause instead of ending."""
    import logging
    import time

    from energytui.runtime import build_hub, setup_logging
    from energytui.tui.app import EnergyApp

    setup_logging(config)
    log = logging.getLogger("energytui")
    while True:
        hub = build_hub(config, with_store=with_store)
        reason = getattr(hub.store, "readonly_reason", None)
        app = EnergyApp(config, hub, prefs_dir=config.data_dir)
        app.run()
        code = app.return_code or 0
        if reason:
            print(f"energytui: {reason}", file=sys.stderr)
        if not config.tui.kiosk or code == 0:
            return code
        log.error("kiosk app ended with code %s; restarting in 5 s", code)
        time.sleep(5)


def run_web(args: argparse.Namespace) -> int:
    """Serve the TUI in a browser; each browser tab runs its own `energytui` process."""
    import shlex

    from textual_serve.server import Server

    cmd = [sys.executable, "-m", "energytui.cli"]
    for flag in ("config", "timezone", "data_dir", "powerwall", "meter", "log_level"):
        value = getattr(args, flag, None)
        if value:
            cmd += [f"--{flag.replace('_', '-')}", str(value)]
    if args.simulate:
        cmd.append("--simulate")
    if args.accelerate:
        cmd += ["--accelerate", str(args.accelerate)]
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"energytui: serving on {args.host}: anyone who can reach it sees your energy data.",
            file=sys.stderr,
        )
    Server(shlex.join(cmd), host=args.host, port=args.port, title="energytui").serve()
    return 0


def run_emulator(argv: list[str]) -> int:
    """The gateway emulator is development code in devkit/, beside this package in a
    source checkout (an editable install imports the package from there, not devkit)."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "devkit" / "emulator").is_dir() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from devkit.emulator.__main__ import main as emulator_main
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("devkit"):
            raise
        return _fail(
            "the gateway emulator ships with the source checkout (devkit/emulator), "
            "not with the installed package; run it from a clone of the repository."
        )
    return emulator_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        return run_emulator(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        config = load_config(Path(args.config) if args.config else None, overrides=_overrides(args))
        if args.command == "web":
            return run_web(args)
        if args.command == "serve":
            from energytui.serve import run_serve

            return run_serve(config)
        return run_tui(config, with_store=not args.no_store)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
