"""TUI cost: CPU % of one core and peak RSS of each screen left open at 1 s updates,
beside a bare Textual app measured in the same run.

Each case runs in a detached tmux session of 120×40 (the real ``energytui`` on the
simulated site with a 1 s poll interval and a real store in a temp dir), warms up, and
is measured over the window: CPU from the scheduler's nanoseconds per thread (psutil's
10-ms clock ticks where the kernel keeps none), peak RSS sampled each second:

- ``bare``: :mod:`bench.bare_app`, four labels and a sparkline redrawn every second —
  the reference, since CPU figures differ between machines, started beside each case
  and measured over the same window;
- ``hub only``: ``energytui serve`` on the same site, no screen: what polling, storing
  and event detection cost before anything is drawn;
- ``dashboard``, ``history`` (opened with ``y``) and ``kiosk`` (``--kiosk``, which
  switches screens every 20 s: measured after its first switch, over whole 40-s cycles).

Goals (issue 15): each screen ≤ 1.3× the bare app's CPU and ≤ 70 MB peak RSS.

    python -m bench.tui [--seconds 30] [--warmup 6] [--only dashboard,kiosk]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

CPU_RATIO_GOAL = 1.3
RSS_GOAL_MB = 70.0


@dataclass(frozen=True)
class Case:
    name: str
    args: str  # energytui's arguments, or "" for the bare app
    keys: tuple[str, ...] = ()  # sent once the app has started
    expect: str = ""  # text the captured screen must hold
    env: str = ""  # more environment for the app
    warmup_min: float = 0.0  # at least this long before measuring
    period: float = 0.0  # the window is a whole number of these


#: the reference, run beside each case over the same window
BARE = Case("bare", "")

CASES = [
    # the hub alone (poll, store, events, no screen): the part of each case below that is
    # not drawing, so a ratio can be read against what the screens themselves add
    Case("hub only", "--simulate serve", expect="serving"),
    Case("dashboard", "--simulate", expect="Power flow"),
    Case("history", "--simulate", keys=("y",), expect="History"),
    # the kiosk cycles between its figures and the dashboard every 20 s (its default):
    # measured after its first switch, which builds the dashboard once (about 90 ms,
    # start-up rather than the cost of leaving it open), over whole cycles, so both
    # screens and their switches (30 and 15 ms: Textual restyles and lays out the whole
    # screen) weigh as they do all day
    Case("kiosk", "--simulate --kiosk", expect="Solar", warmup_min=22.0, period=40.0),
]


@dataclass
class Figures:
    cpu: float
    rss_mb: float
    drawn: bool


def _tmux(session: str) -> list[str]:
    """tmux on a server of the case's own (its own socket, no user config): started
    from this process, so the app gets this environment (``PYTHONPATH`` included: the
    tree under test, not whatever a running server was started with), and no case
    connects to the server a previous case's ``kill-server`` is shutting down."""
    return ["tmux", "-L", session, "-f", "/dev/null"]


def _pane_processes(session: str) -> list[psutil.Process]:
    """The case's pane: its shell and everything under it."""
    out = subprocess.run(
        [*_tmux(session), "list-panes", "-t", session, "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not out:
        return []
    try:
        shell = psutil.Process(int(out.splitlines()[0]))
        return [shell, *shell.children(recursive=True)]
    except psutil.Error:
        return []


def _end(session: str) -> None:
    """Stop the case's tmux server and make sure its app has ended: an app that outlived
    its pane (seen once) was left running beside the cases measured after it."""
    procs = _pane_processes(session)
    subprocess.run([*_tmux(session), "kill-server"], capture_output=True)
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def _find_app(session: str, marker: str) -> psutil.Process | None:
    for p in _pane_processes(session):
        try:
            if marker in " ".join(p.cmdline()):
                return p
        except psutil.Error:
            continue
    return None


def _task_ns(proc: psutil.Process) -> dict[int, int] | None:
    """Nanoseconds on a CPU of each of the process's threads, from the scheduler
    (``/proc/<pid>/task/<tid>/schedstat``); None where the kernel does not keep them.

    ``cpu_times`` counts in clock ticks of 10 ms: an app at 0.8 % of a core earns about
    24 ticks in 30 s, so one figure moved by a fifth from run to run on counting alone."""
    tasks = Path(f"/proc/{proc.pid}/task")
    out: dict[int, int] = {}
    try:
        for task in tasks.iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[int(task.name)] = int((task / "schedstat").read_text().split()[0])
    except OSError:
        return None
    return out if out and any(out.values()) else None


def _cpu_s(proc: psutil.Process) -> tuple[float, dict[int, int] | None]:
    tasks = _task_ns(proc)
    times = proc.cpu_times()
    return times.user + times.system, tasks


def _used_s(
    before: tuple[float, dict[int, int] | None], after: tuple[float, dict[int, int] | None]
) -> float:
    """CPU seconds between two readings: the scheduler's nanoseconds where both have them
    (a thread started meanwhile counts from zero), clock ticks otherwise."""
    if before[1] is not None and after[1] is not None:
        return sum(ns - before[1].get(tid, 0) for tid, ns in after[1].items()) / 1e9
    return after[0] - before[0]


def run_case(case: Case, seconds: float, warmup: float) -> Figures | None:
    """One case in its own tmux session: CPU over the window, peak RSS, and whether the
    screen showed what it should (a bench of a crashed app measures nothing)."""
    session = f"energytui-bench-{case.name.replace(' ', '-')}-{os.getpid()}"
    if case.args:
        exe = Path(sys.executable).with_name("energytui")
        cmd = f"{exe if exe.exists() else sys.executable + ' -m energytui.cli'} {case.args}"
        marker = "energytui"
    else:
        cmd = f"{sys.executable} -m bench.bare_app"
        marker = "bench.bare_app"
    with tempfile.TemporaryDirectory() as tmp:
        env = (
            f"ENERGYTUI_SIMULATED__INTERVAL_S=1 ENERGYTUI_GENERAL__DATA_DIR={tmp} "
            f"ENERGYTUI_API__ENABLED=false TERM=tmux-256color {case.env}"
        ).rstrip()
        subprocess.run(
            [*_tmux(session), "new-session", "-d", "-s", session, "-x", "120", "-y", "40"]
            + ["-c", str(Path(__file__).resolve().parents[1]), f"env {env} {cmd}"],
            check=True,
        )
        try:
            time.sleep(2.0)
            for key in case.keys:
                subprocess.run([*_tmux(session), "send-keys", "-t", session, key], check=True)
            time.sleep(max(0.0, max(warmup, case.warmup_min) - 2.0))
            if case.period:
                seconds = case.period * max(1, math.ceil(seconds / case.period - 1e-9))
            proc = _find_app(session, marker)
            if proc is None:
                return None
            t0 = time.monotonic()
            c0 = _cpu_s(proc)
            peak = proc.memory_info().rss
            while time.monotonic() - t0 < seconds:
                time.sleep(1.0)
                peak = max(peak, proc.memory_info().rss)
            c1 = _cpu_s(proc)
            wall = time.monotonic() - t0
            screen = subprocess.run(
                [*_tmux(session), "capture-pane", "-p", "-t", session],
                capture_output=True,
                text=True,
            ).stdout
        finally:
            _end(session)
    cpu = 100.0 * _used_s(c0, c1) / wall
    drawn = case.expect in screen if case.expect else "kW" in screen
    return Figures(cpu, peak / 1e6, drawn)


def run_pair(case: Case, seconds: float, warmup: float) -> tuple[Figures | None, Figures | None]:
    """``case`` and the bare app started together and measured over the same window: the
    machine's moment (another process, the CPU's clock) weighs on both alike, and the
    bare app's sparkline is as full as it would be at that age. Run one after the other,
    the bare app's figure moved by a fifth between runs and every ratio with it."""
    bare = replace(BARE, warmup_min=case.warmup_min, period=case.period)
    with ThreadPoolExecutor(max_workers=2) as pool:
        mine = pool.submit(run_case, case, seconds, warmup)
        ref = pool.submit(run_case, bare, seconds, warmup)
        return mine.result(), ref.result()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="measuring window per case")
    ap.add_argument("--warmup", type=float, default=6.0)
    ap.add_argument("--only", default="", help="comma-separated cases (hub only always runs)")
    args = ap.parse_args(argv)
    if not shutil.which("tmux"):
        print("bench.tui: tmux is not installed (apt-get install tmux).", file=sys.stderr)
        return 2
    wanted = {c for c in args.only.split(",") if c}
    cases = [c for c in CASES if c.name == "hub only" or not wanted or c.name in wanted]
    print(
        f"TUI under tmux 120x40, 1 s updates, {args.seconds:.0f} s window per case "
        f"(after {args.warmup:.0f} s warm-up), each beside a bare Textual app measured over "
        f"the same window; goals: ≤ {CPU_RATIO_GOAL}× the bare app's CPU, "
        f"≤ {RSS_GOAL_MB:.0f} MB"
    )
    print(f"{'case':<11}{'CPU % core':>11}{'bare':>7}{'× bare':>8}{'peak RSS':>11}  drawn  goal")
    ok_all = True
    for case in cases:
        fig, bare = run_pair(case, args.seconds, args.warmup)
        if fig is None or bare is None:
            print(f"{case.name:<11} did not start" + ("" if fig else " (the bare app)"))
            ok_all = False
            continue
        ratio = fig.cpu / bare.cpu if bare.cpu > 0 else float("nan")
        if case.name == "hub only":
            goal = "(no screen: the floor under the cases below)"
        else:
            ok = ratio <= CPU_RATIO_GOAL and fig.rss_mb <= RSS_GOAL_MB
            goal = "PASS" if ok else "FAIL"
        print(
            f"{case.name:<11}{fig.cpu:>10.2f}{bare.cpu:>8.2f}{ratio:>8.2f}{fig.rss_mb:>8.1f} MB  "
            f"{'yes' if fig.drawn and bare.drawn else 'NO':<5}  {goal}"
        )
        ok_all = ok_all and fig.drawn and bare.drawn
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
