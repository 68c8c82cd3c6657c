"""``python -m devkit.emulator``: run the gateway emulator in the foreground.

``energytui emulator …`` (from a source checkout) calls :func:`main` with the
rest of its arguments, so both entry points behave the same.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from devkit.emulator.faults import FAULTS
from devkit.emulator.server import Emulator
from energytui.clock import AcceleratedClock, Clock
from energytui.sources.simulated import SimulatedSite, SiteSpec


def build_parser() -> argparse.ArgumentParser:
    faults = "\n".join(f"  {name:16s} {text}" for name, text in FAULTS.items())
    p = argparse.ArgumentParser(
        prog="energytui emulator",
        description="A Tesla Powerwall gateway emulator (local HTTPS API) on loopback.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Faults (POST /_emulator/fault with a JSON body, e.g.\n"
            '  curl -k -d \'{"name":"error","status":503}\' https://127.0.0.1:8443/_emulator/fault):\n'
            f"{faults}\n"
            "Clear with POST /_emulator/clear; counts at GET /_emulator/stats."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8443, help="TCP port (default 8443; 0 picks a free one)"
    )
    p.add_argument("--password", default="emulator", help="customer password the emulator accepts")
    p.add_argument(
        "--firmware", default="24.44.1 c58c2df3", help="firmware version string to report"
    )
    p.add_argument("--site-name", default="Emulated Home")
    p.add_argument(
        "--accelerate", type=float, default=1.0, help="run the simulated site N times faster"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed of the simulated site")
    p.add_argument("--timezone", default="UTC", help="IANA zone of the simulated site's sun")
    p.add_argument("--read-only", action="store_true", help="answer 403 to POST /api/operation")
    p.add_argument(
        "--battery-kwh",
        type=float,
        default=27.0,
        help="capacity of its two batteries together, reported in /api/system_status "
        "(default 27: two Powerwall 2 of 13.5 kWh)",
    )
    p.add_argument(
        "--no-battery-blocks",
        action="store_true",
        help="list no battery_blocks in /api/system_status (the vitals still hold the pods)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print("energytui emulator: --port must be between 0 and 65535.", file=sys.stderr)
        return 2
    if args.accelerate <= 0:
        print("energytui emulator: --accelerate must be positive.", file=sys.stderr)
        return 2
    if not 0 < args.battery_kwh <= 1000:
        print(
            "energytui emulator: --battery-kwh must be above 0 and at most 1000.", file=sys.stderr
        )
        return 2
    clock: Clock = AcceleratedClock(args.accelerate) if args.accelerate != 1.0 else Clock()
    try:
        site = SimulatedSite(
            SiteSpec(seed=args.seed, timezone=args.timezone, battery_kwh=args.battery_kwh)
        )
    except Exception:  # a bad zone name
        print(f"energytui emulator: unknown time zone {args.timezone!r}.", file=sys.stderr)
        return 2
    emu = Emulator(
        args.host,
        args.port,
        args.password,
        site,
        clock=clock,
        firmware=args.firmware,
        site_name=args.site_name,
        allow_control=not args.read_only,
    )
    emu.gateway.list_blocks = not args.no_battery_blocks
    try:
        emu.start()
    except OSError as exc:
        print(
            f"energytui emulator: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}).",
            file=sys.stderr,
        )
        return 1
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(
        f"Powerwall gateway emulator on {emu.url} (host for pypowerwall: {emu.host_port}).",
        flush=True,
    )
    print(
        f'Faults: curl -k -d \'{{"name":"outage"}}\' {emu.url}/_emulator/fault ; '
        f"stats: curl -k {emu.url}/_emulator/stats",
        flush=True,
    )
    try:
        done.wait()
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
