"""Crash bench: SIGKILL the real hub again and again; nothing it served is lost.

    python -m bench.crash              # 200 kills (about 4-5 minutes)
    python -m bench.crash --kills 20   # a quick look

It runs ``energytui serve`` (the simulated site, polled every 0.1 s, on 127.0.0.1,
a temp data dir; ``ETUI_CRASH_FOLD_EVERY_S`` folds the journal into shard files
every 0.3 s instead of once a minute) and kills it with SIGKILL: at a random
moment, or (every third kill) the moment a fold begins (a rotated
``journal-NNNNNN.jsonl`` appears), so kills land in folds, merges and renames too.

**Acknowledged** means served: a sample ``GET /api/v1/history/power`` returned
with ``origin: store`` before the kill. The hub serves it from the store only
after the store wrote and synced its journal line.

After each restart it checks that every file of the store is readable (shard files
read as TinyDB databases, every complete journal line parses, the markers are
JSON, nothing was moved aside as damaged) and that every acknowledged sample is
served again. It prints kills, unreadable files, lost acknowledged samples (goals:
all 0) and the time taken. If ``bench/crash_agent.py`` exists (the meter agent's
crash bench), its ``run(kills)`` follows and its figures are printed too.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from energytui.store.journal import ROTATED_RE, parse
from energytui.store.storage import CorruptFile, read_shard

REPO = Path(__file__).resolve().parents[1]
FOLD_EVERY_S = 0.3
POLL_S = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp: Path, port: int) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[general]\ndata_dir = "{tmp / "data"}"\nlog_level = "INFO"\n'
        f"[simulated]\ninterval_s = {POLL_S}\n[api]\nport = {port}\n",
        encoding="utf-8",
    )
    return path


def start(config: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["ETUI_CRASH_FOLD_EVERY_S"] = str(FOLD_EVERY_S)
    with open(config.parent / "serve.err", "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "energytui.cli", "serve", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )


def served(client: httpx.Client) -> set[str] | None:
    """Timestamps the hub serves from its store now (None if it is not answering)."""
    try:
        r = client.get("/api/v1/history/power", params={"hours": 2})
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    body = r.json()
    if body.get("origin") != "store":
        return None
    return {p.get("timestamp") or p.get("ts") for p in body["points"]}


def wait_serving(
    client: httpx.Client, proc: subprocess.Popen, errors: Path, timeout: float = 30.0
) -> set[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            tail = errors.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise SystemExit(f"energytui serve exited with {proc.returncode}:\n{tail}")
        got = served(client)
        if got is not None:
            return got
        time.sleep(0.02)
    raise SystemExit("energytui serve did not answer in time")


def unreadable(store: Path) -> list[str]:
    """Files of the store that cannot be read (see the module doc); vanished ones are fine."""
    bad: list[str] = []
    for dirpath, _dirs, names in os.walk(store):
        for name in names:
            path = Path(dirpath) / name
            try:
                if ".corrupt-" in name:
                    bad.append(f"{path} (moved aside as damaged)")
                elif name == "journal.jsonl" or ROTATED_RE.fullmatch(name):
                    data = path.read_bytes()
                    entries, end, _ = parse(data, name)
                    lines = [ln for ln in data[:end].split(b"\n") if ln.strip()]
                    headers = sum(1 for ln in lines if b"energytui_journal" in ln)
                    if len(entries) != len(lines) - headers:
                        bad.append(f"{path} (damaged journal lines)")
                elif path.parent == store and name.endswith(".json"):
                    json.loads(path.read_bytes())
                elif name.endswith(".json"):
                    read_shard(path)
            except FileNotFoundError:
                continue  # merged or folded away while we looked
            except (CorruptFile, ValueError) as exc:
                bad.append(f"{path} ({exc})")
    return bad


def kill_during_fold(store: Path, proc: subprocess.Popen, limit_s: float) -> bool:
    """SIGKILL the moment a fold rotates the journal; False if none began in time."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            names = os.listdir(store)
        except FileNotFoundError:
            names = []
        if any(ROTATED_RE.fullmatch(n) for n in names):
            proc.send_signal(signal.SIGKILL)
            return True
        time.sleep(0.0005)
    return False


def run(kills: int, seed: int = 14) -> dict:
    rng = random.Random(seed)
    t0 = time.monotonic()
    acked: set[str] = set()
    lost: set[str] = set()
    bad: list[str] = []
    in_fold = 0
    with tempfile.TemporaryDirectory(prefix="energytui-crash-") as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        config = write_config(tmp, port)
        store = tmp / "data" / "store"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
            for k in range(kills + 1):
                proc = start(config)
                try:
                    now = wait_serving(client, proc, tmp / "serve.err")
                    lost |= acked - now  # everything served before a kill is served again
                    bad.extend(unreadable(store))
                    if k == kills:
                        break
                    acked |= now
                    if k % 3 == 2:
                        if kill_during_fold(store, proc, 3.0):
                            in_fold += 1
                        else:
                            proc.send_signal(signal.SIGKILL)
                    else:
                        time.sleep(rng.uniform(0.0, 0.3))
                        got = served(client)  # served just before the kill: acknowledged
                        if got is not None:
                            acked |= got
                        proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=10)
                finally:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(timeout=15)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()
    return {
        "kills": kills,
        "kills_during_folds": in_fold,
        "acknowledged": len(acked),
        "unreadable_files": len(bad),
        "unreadable_examples": bad[:3],
        "lost_acknowledged": len(lost),
        "lost_examples": sorted(lost)[:3],
        "seconds": round(time.monotonic() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.crash", description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=200, help="SIGKILLs of the hub (default 200)")
    args = ap.parse_args(argv)
    if args.kills < 1:
        ap.error("--kills must be at least 1")
    hub = run(args.kills)
    print(
        f"hub (energytui serve): kills {hub['kills']} ({hub['kills_during_folds']} during folds),"
        f" acknowledged samples {hub['acknowledged']}, unreadable files {hub['unreadable_files']},"
        f" lost acknowledged samples {hub['lost_acknowledged']}, time {hub['seconds']} s"
        "  (goals: 0 unreadable, 0 lost)"
    )
    for what in ("unreadable_examples", "lost_examples"):
        if hub[what]:
            print(f"  {what.replace('_', ' ')}: {hub[what]}")
    failed = hub["unreadable_files"] or hub["lost_acknowledged"]
    if importlib.util.find_spec("bench.crash_agent") is not None:
        agent = importlib.import_module("bench.crash_agent").run(args.kills)
        print("meter agent (bench.crash_agent): " + ", ".join(f"{k} {v}" for k, v in agent.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
