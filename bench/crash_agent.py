"""The meter agent killed at random: SIGKILL a real ``meter-agent serve`` hundreds of times
while it writes, and after every restart check that every file is readable and that no
reading it acknowledged (``PUT /reading`` answered ``"recorded": true``) is lost.
Now and then the card is made "full" for a moment first (the agent's file-size limit
is lowered from outside), so appends fail half way before the readings that follow.

The agent runs on 127.0.0.1 with a synthetic camera, a reading every second, uploads
queued for a hub that is not there (so the outbox files are written too), a short
history (so it is compacted, an atomic rewrite, now and then) and storage in a temp
dir. A client sets readings by hand back to back (each one: a history append, the
reader's state and digit examples rewritten atomically, an outbox append). About half
the kills are aimed at a rename: the data folder is watched and the agent is killed the
moment a temporary file of an atomic write appears, before its rename. The others come
at a random moment.

A restart of a Python process with numpy, OpenCV and FastAPI takes ~2 s; to fit 200
kills in ~3 minutes the agent is forked from a warm process that has imported
everything (each child runs ``meter_agent.cli.main(["serve", …])``, the console
script's code, in a fresh process of its own). Goals: 0 unreadable files and 0 lost
acknowledged readings.

    python -m bench.crash_agent [--kills 200] [--seconds 180]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
#: made once: every httpx client would otherwise load the CA bundle anew (~0.1 s each)
_SSL = ssl.create_default_context()
TOKEN = "crash-token"
#: readings set by hand start here: above the synthetic meter's 314159, so none is lower
FIRST_MANUAL = 400000

CONFIG: dict[str, Any] = {
    "camera": {"source": "synthetic", "width": 960, "height": 540, "burst_interval_s": 0.0},
    "ocr": {"interval_s": 1.0, "burst_frames": 1, "max_increase_per_day": 1e9},
    "storage": {
        "data_dir": "data",
        "image_dir": "images",
        "log_file": "",
        "save_images": "none",
        "history_max_records": 200,
    },
    "upload": {"enabled": True, "url": "http://127.0.0.1:9/meter_reading", "interval_s": 1.0},
    "server": {"token": TOKEN},
    "calibration": {"display": "lcd7"},
}

# --- the warm process that forks agents --------------------------------------------------
ZYGOTE = """
import os, signal, sys
import meter_agent.cli, meter_agent.serve_cmd, meter_agent.server, meter_agent.service
import meter_agent.reader, meter_agent.synth, meter_agent.http_guard, meter_agent.quiet_server
import meter_agent.logging_setup, meter_agent.upload, uvicorn, fastapi, httpx, cv2, numpy
# what a starting agent imports on its way (found with sys.modules before and after)
import PIL.Image, anyio._backends._asyncio, certifi, httpcore, numpy.random, numpy.ma
import packaging.version, pydantic.v1, pytesseract, encodings.idna, uvicorn.lifespan.off
import uvicorn.protocols.websockets.auto
print("ready", flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "start":
        config, port, errlog = args
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                null = os.open(os.devnull, os.O_RDWR)
                err = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(null, 0); os.dup2(null, 1); os.dup2(err, 2)
                code = meter_agent.cli.main(
                    ["serve", "--config", config, "--host", "127.0.0.1", "--port", port,
                     "--log-level", "warning"]
                )
            finally:
                os._exit(code)
        print(pid, flush=True)
    elif cmd == "wait":
        _, status = os.waitpid(int(args[0]), 0)
        print(status, flush=True)
"""


class Zygote:
    """A warm Python that forks a fresh ``meter-agent serve`` on demand."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the warm process that forks agents died")
        return line.strip()

    def _send(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._read()

    def start(self, config: Path, port: int, errlog: Path) -> int:
        return int(self._send(f"start {config} {port} {errlog}"))

    def wait(self, pid: int) -> int:
        return int(self._send(f"wait {pid}"))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- what is checked after every kill -----------------------------------------------------
def unreadable_files(data: Path) -> list[str]:
    """The files of a stopped agent that a restart could not read whole: a state file
    (replaced atomically) that does not parse, or a line file with a bad line before its
    last (the last may be torn by the kill; the agent cuts it off at start)."""
    import numpy as np

    bad: list[str] = []
    for path in sorted(data.iterdir()):
        name = path.name
        if name.endswith(".tmp"):
            continue  # an atomic write's temporary file, never read
        try:
            if name == "reader_state.json":
                json.loads(path.read_text(encoding="utf-8"))
            elif name == "references.npz":
                with np.load(path, allow_pickle=False) as z:
                    _ = [z[k] for k in z.files]
            elif name.endswith(".jsonl") or name == "outbox.delivered":
                lines = path.read_bytes().split(b"\n")
                for line in lines[:-1]:  # lines[-1] is b"" or a torn tail
                    if name.endswith(".jsonl"):
                        assert isinstance(json.loads(line), dict)
                    else:
                        line.decode("ascii")
        except Exception as exc:  # any failure to read is what this bench counts
            bad.append(f"{name}: {type(exc).__name__}: {exc}")
    return bad


def lost_acknowledged(client: httpx.Client, acked: dict[str, str]) -> list[str]:
    """Acknowledged ids that the restarted agent's history does not have, among those
    it should still keep (it keeps the newest ``history_max_records``)."""
    rows = client.get("/readings", params={"limit": 10000, "include_rejected": True}).json()
    readings = rows["readings"]
    if not readings:
        return sorted(acked)
    have = {r["id"] for r in readings}
    oldest = min(r["timestamp"] for r in readings)
    return sorted(i for i, ts in acked.items() if ts >= oldest and i not in have)


# --- the client that keeps the agent writing ---------------------------------------------
class Writer(threading.Thread):
    """Sets readings by hand back to back until stopped; remembers the acknowledged."""

    def __init__(self, url: str, start_value: int, acked: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.value, self.acked = url, start_value, acked
        self.halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=self.url, timeout=5, headers=headers, verify=_SSL) as c:
            while not self.halt.is_set():
                self.value += 1
                try:
                    r = c.put("/reading", json={"digits": f"{self.value % 10**6:06d}"})
                except httpx.HTTPError:
                    return  # killed under it
                self.sent += 1
                if r.status_code == 200 and r.json().get("recorded") is True:
                    body = r.json()
                    self.acked[body["id"]] = body["timestamp"]


def wait_ready(url: str, pid: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    with httpx.Client(base_url=url, timeout=2, verify=_SSL) as c:
        while True:
            try:
                if c.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > end:
                raise RuntimeError(f"agent {pid} did not answer in {deadline_s:g} s")
            time.sleep(0.01)


def kill_at_a_rename(data: Path, pid: int, within_s: float) -> bool:
    """SIGKILL ``pid`` the moment an atomic write's temporary file shows up in ``data``
    (between its creation and its rename); True when one was caught in time."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        with os.scandir(data) as it:
            if any(e.name.endswith(".tmp") for e in it):
                os.kill(pid, signal.SIGKILL)
                return True
    os.kill(pid, signal.SIGKILL)
    return False


def disk_full_episode(history: Path, pid: int, rng: random.Random, writer: Writer) -> int:
    """Make the card "full" for the agent ``pid`` for a moment (its file-size limit just
    above the history's size, so the next appends fail half way), then free it again
    and let a few readings be acknowledged after it; 1 when the episode happened."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        size = history.stat().st_size
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (size + rng.randint(1, 200), hard))
        sent = writer.sent
        end = time.monotonic() + 0.5
        while writer.sent < sent + 2 and time.monotonic() < end:
            time.sleep(0.005)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
        sent = writer.sent
        end = time.monotonic() + 0.5
        while writer.sent < sent + 2 and time.monotonic() < end:
            time.sleep(0.005)
    except (OSError, ProcessLookupError):
        return 0
    return 1


def run(kills: int = 200, seconds: float = 180.0, seed: int = 14) -> dict[str, Any]:
    """Kill a real agent ``kills`` times (or until ``seconds`` have passed); returns the
    figures: kills, aimed_at_renames, disk_full_episodes, acknowledged, unreadable_files,
    lost_acknowledged (both goals 0), restart_failures and seconds."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    acked: dict[str, str] = {}
    unreadable: list[str] = []
    lost: list[str] = []
    done = aimed = restart_failures = full = 0
    with tempfile.TemporaryDirectory(prefix="crash-agent-") as tmp:
        base = Path(tmp)
        config = base / "meter-agent.json"
        config.write_text(json.dumps(CONFIG))
        data = base / "data"
        errlog = base / "agent.stderr"
        zygote = Zygote()
        value = FIRST_MANUAL
        try:
            while done < kills and time.monotonic() - t0 < seconds:
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                pid = zygote.start(config, port, errlog)
                try:
                    wait_ready(url, pid)
                except RuntimeError:
                    restart_failures += 1
                    os.kill(pid, signal.SIGKILL)
                    zygote.wait(pid)
                    continue
                # after the restart: nothing acknowledged before may be missing
                with httpx.Client(base_url=url, timeout=10, verify=_SSL) as c:
                    lost.extend(i for i in lost_acknowledged(c, acked) if i not in lost)
                writer = Writer(url, value, acked)
                writer.start()
                if rng.random() < 0.25:
                    full += disk_full_episode(data / "history.jsonl", pid, rng, writer)
                if rng.random() < 0.5:
                    time.sleep(rng.uniform(0.0, 0.05))
                    aimed += kill_at_a_rename(data, pid, within_s=1.0)
                else:
                    time.sleep(rng.uniform(0.0, 0.3))
                    os.kill(pid, signal.SIGKILL)
                zygote.wait(pid)
                done += 1
                writer.halt.set()
                writer.join(timeout=10)
                value = writer.value + 1
                unreadable.extend(f"after kill {done}: {b}" for b in unreadable_files(data))
            # a last start, to check what the last kill left
            port = free_port()
            pid = zygote.start(config, port, errlog)
            wait_ready(f"http://127.0.0.1:{port}", pid)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, verify=_SSL) as c:
                lost.extend(i for i in lost_acknowledged(c, acked) if i not in lost)
            os.kill(pid, signal.SIGTERM)
            zygote.wait(pid)
        finally:
            zygote.close()
        tracebacks = errlog.read_text().count("Traceback") if errlog.exists() else 0
    return {
        "kills": done,
        "aimed_at_renames": aimed,
        "disk_full_episodes": full,
        "acknowledged": len(acked),
        "unreadable_files": len(unreadable),
        "lost_acknowledged": len(lost),
        "restart_failures": restart_failures,
        "tracebacks": tracebacks,
        "seconds": round(time.monotonic() - t0, 1),
        "details": (unreadable + [f"lost {i}" for i in lost])[:20],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=14)
    args = p.parse_args(argv)
    result = run(args.kills, args.seconds, args.seed)
    print(json.dumps(result, indent=2))
    with contextlib.suppress(Exception):
        ok = result["unreadable_files"] == 0 and result["lost_acknowledged"] == 0
        print(
            f"goals: unreadable files 0 (got {result['unreadable_files']}), "
            f"lost acknowledged readings 0 (got {result['lost_acknowledged']}): "
            + ("met" if ok else "NOT met")
        )
    return 0 if result["unreadable_files"] == 0 and result["lost_acknowledged"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
