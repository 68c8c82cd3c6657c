"""TUI cost: CPU % of one core and RSS of the dashboard at 1 s updates, under tmux.

Runs the real `energytui` (simulated site, 1 s poll interval, real store in a
temp dir) in a detached tmux session of 120×40, lets it warm up, then samples
the process with psutil for the measuring window. Goals: ≤ 2 % of a core,
≤ 80 MB RSS.

    python -m bench.tui [--seconds 60] [--warmup 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CPU_GOAL = 2.0
RSS_GOAL_MB = 80.0


def _find_app(tmux_pid_cmd: list[str]) -> psutil.Process | None:
    out = subprocess.run(tmux_pid_cmd, capture_output=True, text=True).stdout.strip()
    if not out:
        return None
    shell = psutil.Process(int(out.splitlines()[0]))
    for p in [shell, *shell.children(recursive=True)]:
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "energytui" in cmd and "python" in (p.name() + cmd):
            return p
    return shell


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    args = ap.parse_args(argv)
    if not shutil.which("tmux"):
        print("bench.tui: tmux is not installed (apt-get install tmux).", file=sys.stderr)
        return 2
    exe = Path(sys.executable).with_name("energytui")
    cmd = str(exe) if exe.exists() else f"{sys.executable} -m energytui.cli"
    session = f"energytui-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        env = (
            f"ENERGYTUI_SIMULATED__INTERVAL_S=1 ENERGYTUI_GENERAL__DATA_DIR={tmp} "
            f"ENERGYTUI_API__ENABLED=false TERM=tmux-256color"
        )
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "120",
                "-y",
                "40",
                f"env {env} {cmd} --simulate",
            ],
            check=True,
        )
        try:
            time.sleep(args.warmup)
            proc = _find_app(["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"])
            if proc is None:
                print("bench.tui: the app did not start.", file=sys.stderr)
                return 1
            t0 = time.monotonic()
            c0 = proc.cpu_times()
            peak = 0
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1.0)
                peak = max(peak, proc.memory_info().rss)
            c1 = proc.cpu_times()
            wall = time.monotonic() - t0
            cpu = 100.0 * ((c1.user - c0.user) + (c1.system - c0.system)) / wall
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    rss_mb = peak / 1e6
    ok_screen = "Power flow" in screen and "SOLAR" in screen
    print(
        f"dashboard under tmux 120x40, 1 s updates, {wall:.0f} s window (after {args.warmup:.0f} s warm-up)"
    )
    print(
        f"  CPU      {cpu:6.2f} % of one core   goal <= {CPU_GOAL} %    {'PASS' if cpu <= CPU_GOAL else 'FAIL'}"
    )
    print(
        f"  peak RSS {rss_mb:6.1f} MB             goal <= {RSS_GOAL_MB:.0f} MB   {'PASS' if rss_mb <= RSS_GOAL_MB else 'FAIL'}"
    )
    print(f"  screen drawn: {'yes' if ok_screen else 'NO'}")
    return 0 if ok_screen else 1


if __name__ == "__main__":
    sys.exit(main())
