"""How hard energytui leans on the Powerwall gateway: ``python -m bench.gateway``.

Two figures with goals, measured with the real PowerwallSource driving the real
pypowerwall against the HTTPS gateway emulator on 127.0.0.1, the emulator
counting every request it receives:

* gateway HTTP requests per dashboard poll cycle in steady state (goal <= 3);
* login attempts per hour with a wrong password (goal <= 12), with the hour
  simulated: the source's gate clock is a ManualClock advanced 5 s per poll,
  so 720 real polls stand for one hour of a caller polling every 5 s.

Also printed, for information: requests per cycle including the slow schedule
(details every 60 s) and the median loopback latency of one poll cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pypowerwall

from devkit.emulator import Emulator
from energytui.clock import ManualClock
from energytui.config import PowerwallConfig
from energytui.sources.base import SourceError
from energytui.sources.powerwall import PowerwallSource

PASSWORD = "bench-pw"
INTERVAL_S = 5.0
SLOW_S = 60.0


def _source(emu: Emulator, state: Path, clock: ManualClock, password: str) -> PowerwallSource:
    cfg = PowerwallConfig(
        host=emu.host_port,
        password=password,
        interval_s=INTERVAL_S,
        timeout_s=2.0,
        slow_interval_s=SLOW_S,
    )
    return PowerwallSource(cfg, state_dir=state, clock=clock)


def _row(label: str, value: str, goal: str = "", verdict: str = "", how: str = "") -> str:
    return f"{label:<52}{value:>8}  {goal:<11}{verdict:<6}{how}".rstrip()


async def steady_state(emu: Emulator, state: Path, cycles: int) -> tuple[float, dict, list[float]]:
    clock = ManualClock(datetime(2026, 6, 21, 12, 0, tzinfo=UTC))
    src = _source(emu, state, clock, PASSWORD)
    try:
        await src.poll()  # login + first slow refresh
        await src.details()
        emu.reset_counts()
        latencies = []
        for _ in range(cycles):
            clock.advance(1.0)  # stays inside one slow interval: fast cycles only
            t0 = time.perf_counter()
            await src.poll()
            latencies.append((time.perf_counter() - t0) * 1000.0)
        counts = emu.counts
        return counts.total / cycles, counts.by_path, latencies
    finally:
        await src.close()


async def with_slow_schedule(emu: Emulator, state: Path, hours: float) -> float:
    clock = ManualClock(datetime(2026, 6, 21, 12, 0, tzinfo=UTC))
    src = _source(emu, state, clock, PASSWORD)
    try:
        await src.poll()
        await src.details()
        emu.reset_counts()
        cycles = int(hours * 3600 / INTERVAL_S)
        for _ in range(cycles):
            clock.advance(INTERVAL_S)
            await src.poll()
        await src.details()  # let a last refresh finish so it is counted whole
        return emu.counts.total / cycles
    finally:
        await src.close()


async def wrong_password_hours(
    emu: Emulator, state: Path, hours: int, *, honour_retry_after: bool
) -> list[int]:
    """Login attempts in each simulated hour of polling with a wrong password."""
    start = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
    clock = ManualClock(start)
    src = _source(emu, state, clock, "not-the-password")
    emu.reset_counts()
    per_hour: list[int] = []
    try:
        for _ in range(hours):
            before = emu.counts.login_attempts
            hour_end = clock.now().timestamp() + 3600
            while clock.now().timestamp() < hour_end:
                wait = INTERVAL_S
                try:
                    await src.poll()
                except SourceError as exc:
                    if honour_retry_after and exc.retry_after:
                        wait = max(wait, exc.retry_after)
                clock.advance(min(wait, hour_end - clock.now().timestamp()) or INTERVAL_S)
            per_hour.append(emu.counts.login_attempts - before)
        return per_hour
    finally:
        await src.close()


async def run(cycles: int) -> int:
    verdicts: list[bool] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp,
        Emulator(password=PASSWORD) as emu,
    ):
        tmpdir = Path(tmp)
        print(
            f"energytui gateway benchmark: PowerwallSource on pypowerwall {pypowerwall.version} "
            f"(local mode) against the HTTPS gateway emulator at {emu.host_port}."
        )
        print("Requests and logins are counted by the emulator, per path, as they arrive.\n")

        per_cycle, by_path, lat = await steady_state(emu, tmpdir / "a", cycles)
        ok = per_cycle <= 3.0
        verdicts.append(ok)
        print(
            _row(
                "gateway requests per poll cycle (steady)",
                f"{per_cycle:.2f}",
                "goal <= 3",
                "PASS" if ok else "FAIL",
                f"{cycles} cycles after login and the first details fetch",
            )
        )
        for path, n in sorted(by_path.items()):
            print(f"    {path:<48}{n:>8}")

        amortised = await with_slow_schedule(emu, tmpdir / "b", hours=1.0)
        print(
            _row(
                "requests per cycle incl. slow schedule",
                f"{amortised:.2f}",
                "info",
                "",
                f"interval {INTERVAL_S:g} s, details every {SLOW_S:g} s, 1 simulated hour",
            )
        )

        naive = await wrong_password_hours(emu, tmpdir / "c", 2, honour_retry_after=False)
        polite = await wrong_password_hours(emu, tmpdir / "d", 2, honour_retry_after=True)
        how = (
            "wrong password; a caller polling every 5 s and ignoring retry_after; "
            "simulated hour (ManualClock +5 s per poll, 720 polls)"
        )
        for i, n in enumerate(naive, 1):
            ok = n <= 12
            verdicts.append(ok)
            print(
                _row(
                    f"login attempts in hour {i} (naive caller)",
                    str(n),
                    "goal <= 12",
                    "PASS" if ok else "FAIL",
                    how if i == 1 else "",
                )
            )
        for i, n in enumerate(polite, 1):
            ok = n <= 12
            verdicts.append(ok)
            print(
                _row(
                    f"login attempts in hour {i} (hub honours retry_after)",
                    str(n),
                    "goal <= 12",
                    "PASS" if ok else "FAIL",
                    "same, waiting max(5 s, retry_after) between polls" if i == 1 else "",
                )
            )
        print(
            _row(
                "poll cycle latency, median",
                f"{statistics.median(lat):.1f} ms",
                "info",
                "",
                "loopback, 3 HTTPS requests on one keep-alive connection",
            )
        )
    print("\nOverall: " + ("PASS" if all(verdicts) else "FAIL"))
    return 0 if all(verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=50, help="steady-state poll cycles to count")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(max(1, args.cycles)))
    return 130


if __name__ == "__main__":
    sys.exit(main())
