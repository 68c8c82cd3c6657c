"""The meter agent at rest: CPU % of one core, RSS, USS and threads between captures.

Starts the real ``meter-agent serve`` (synthetic camera at its default 1280×720, a
reading every 60 s, storage in a temp dir) on 127.0.0.1, waits until its first reading
is done, then samples it with psutil for the measuring window while it rests before
the next capture. After the window it asks for one reading (``POST /capture``) to show
what a reading costs and that memory comes back to the resting level afterwards. In the same window it samples a reference process that does the
least the agent must: Python with numpy and OpenCV imported and an idle uvicorn server.
Machines differ, so the agent's figures are printed next to the reference's and as a
ratio. Goals (issue 13): ≤ 1 % of a core and ≤ 120 MB RSS at rest.

    python -m bench.agent [--seconds 30] [--settle 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

CPU_GOAL = 1.0
RSS_GOAL_MB = 120.0
INTERVAL_S = 60.0
#: the synthetic meter's first value (meter_agent.capture.SyntheticSource, 6 digits)
SYNTH_START = 314159
TOKEN = "bench-token"
ROOT = Path(__file__).resolve().parents[1]

#: the floor: what any Python agent with numpy, OpenCV and an HTTP server costs idle
REFERENCE = """
import sys
import cv2, numpy, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


@dataclass
class Sample:
    """One process over the window."""

    cpu_pct: float
    rss_mb: float
    peak_rss_mb: float
    uss_mb: float | None
    anon_mb: float
    threads: int


class Sampler:
    """CPU time and memory of one process between :meth:`start` and :meth:`stop`."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.peak = 0
        self.t0 = 0.0
        self.c0 = 0.0

    def _cpu(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def start(self) -> None:
        self.t0, self.c0 = time.monotonic(), self._cpu()

    def poll(self) -> None:
        self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> Sample:
        cpu = self._cpu() - self.c0
        wall = time.monotonic() - self.t0
        mem = self.proc.memory_info()
        rss = mem.rss
        self.peak = max(self.peak, rss)
        try:
            uss: float | None = self.proc.memory_full_info().uss / 1e6
        except (psutil.AccessDenied, AttributeError):
            uss = None
        # file pages (the .so files) come and go with the page cache; anonymous memory is
        # what the process itself holds, so it is the steadier figure between runs
        anon = (rss - getattr(mem, "shared", 0)) / 1e6
        return Sample(
            100.0 * cpu / wall, rss / 1e6, self.peak / 1e6, uss, anon, self.proc.num_threads()
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_history(data_dir: Path, count: int, end: datetime) -> None:
    """``count`` past readings a minute apart up to ``end``, as a week of running leaves
    them (the default history_max_records is 10000): mostly accepted, rising 1 kWh per
    10 minutes to the synthetic meter's value, so the agent's first reading is accepted."""
    from meter_agent.history import HistoryRecord, new_reading_id

    data_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        ts = end - timedelta(seconds=INTERVAL_S * (count - i))
        kwh = float(SYNTH_START - (count - 1 - i) // 10)
        digits = f"{int(kwh):06d}"
        ok = i % 25 != 7
        rec = HistoryRecord(
            id=new_reading_id(ts),
            timestamp=ts,
            accepted=ok,
            reading_kwh=kwh if ok else None,
            digits=digits if ok else None,
            confidence=0.9991 if ok else 0.41,
            method="cnn+seven_segment",
            reason=None if ok else "low_confidence: digit 5 is unsure (0.41)",
            per_digit=[(d, 0.9991) for d in digits],
        )
        lines.append(rec.model_dump_json())
    (data_dir / "history.jsonl").write_text("".join(x + "\n" for x in lines), encoding="utf-8")


def write_config(tmp: Path) -> Path:
    """A synthetic meter as a demo would run it; everything else the defaults."""
    cfg = {
        "camera": {"source": "synthetic"},
        "ocr": {"interval_s": INTERVAL_S},
        "storage": {"data_dir": "data", "image_dir": "images", "log_file": ""},
        "calibration": {"display": "lcd7"},
        "server": {"token": TOKEN},
    }
    path = tmp / "meter-agent.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def wait_first_reading(
    url: str, proc: subprocess.Popen, timeout: float, after: datetime
) -> tuple[str, bool]:
    """The id of the agent's first reading once it is recorded, and whether it was accepted."""
    deadline = time.monotonic() + timeout
    params = {"include_rejected": "true", "limit": "1"}
    with httpx.Client(base_url=url, timeout=10) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the agent exited with code {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                rows = c.get("/readings", params=params).json().get("readings") or []
                if rows and datetime.fromisoformat(rows[-1]["timestamp"]) > after:
                    return str(rows[-1]["id"]), bool(rows[-1]["accepted"])
            time.sleep(0.25)
    raise RuntimeError(f"no reading within {timeout:g} s")


def wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the reference exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("the reference server did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="measuring window")
    ap.add_argument("--settle", type=float, default=3.0, help="pause after the first reading")
    ap.add_argument(
        "--history",
        type=int,
        default=10000,
        help="past readings in the history when the agent starts (default: a full one)",
    )
    args = ap.parse_args(argv)
    if args.seconds + args.settle > INTERVAL_S - 10:
        print(f"bench.agent: the window must end well before the next capture ({INTERVAL_S:g} s).")
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp))
        started = datetime.now(UTC)
        write_history(Path(tmp) / "data", args.history, started)
        port, ref_port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            t_start = time.monotonic()
            agent = subprocess.Popen(
                [sys.executable, "-m", "meter_agent.cli", "serve", "--config", str(cfg)]
                + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                cwd=tmp,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            procs.append(agent)
            ref = subprocess.Popen(
                [sys.executable, "-c", REFERENCE, str(ref_port)],
                cwd=tmp,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(ref)
            first, accepted = wait_first_reading(url, agent, timeout=60, after=started)
            t_first = time.monotonic() - t_start
            wait_listening(ref_port, ref, timeout=30)
            time.sleep(args.settle)
            samplers = [Sampler(psutil.Process(agent.pid)), Sampler(psutil.Process(ref.pid))]
            for s in samplers:
                s.start()
            t0 = time.monotonic()
            while time.monotonic() - t0 < args.seconds:
                time.sleep(min(1.0, max(0.0, args.seconds - (time.monotonic() - t0))))
                for s in samplers:
                    s.poll()
            a, r = (s.stop() for s in samplers)
            with httpx.Client(base_url=url, timeout=30) as c:
                params = {"include_rejected": "true", "limit": "1"}
                last = c.get("/readings", params=params).json()["readings"][-1]["id"]
                # one reading on demand: its cost, and the memory once it is over
                cap = Sampler(psutil.Process(agent.pid))
                cap.start()
                ok = c.post("/capture", headers={"Authorization": f"Bearer {TOKEN}"}).is_success
                capture = cap.stop()
                cap_cpu_s = capture.cpu_pct / 100.0 * (time.monotonic() - cap.t0)
                time.sleep(args.settle)
                after = psutil.Process(agent.pid).memory_info().rss / 1e6
        except RuntimeError as exc:
            err = b""
            for p in procs:
                stop(p)
            if agent.stderr is not None:
                err = agent.stderr.read()
            print(f"bench.agent: {exc}.", file=sys.stderr)
            if err:
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)
            return 1
        finally:
            for p in procs:
                stop(p)
    rested = last == first

    def ratio(x: float, y: float) -> str:
        return f"{x / y:5.1f}×" if y > 0 else "    –"

    print(
        f"meter-agent serve, synthetic camera 1280x720, a reading every {INTERVAL_S:g} s; "
        f"{args.history} readings in its history; first reading "
        f"{'accepted' if accepted else 'REFUSED'} {t_first:.1f} s after start"
    )
    print(
        f"at rest: {args.seconds:g} s window from {args.settle:g} s after it "
        f"(no capture in the window: {'yes' if rested else 'NO'})"
    )
    print("                      agent   reference (python+numpy+cv2+uvicorn)   ratio")
    print(
        f"  CPU % of a core  {a.cpu_pct:8.2f}   {r.cpu_pct:8.2f}{'':29}{ratio(a.cpu_pct, r.cpu_pct)}"
    )
    print(f"  RSS MB           {a.rss_mb:8.1f}   {r.rss_mb:8.1f}{'':29}{ratio(a.rss_mb, r.rss_mb)}")
    print(f"  peak RSS MB      {a.peak_rss_mb:8.1f}   {r.peak_rss_mb:8.1f}")
    if a.uss_mb is not None and r.uss_mb is not None:
        print(
            f"  USS MB           {a.uss_mb:8.1f}   {r.uss_mb:8.1f}{'':29}{ratio(a.uss_mb, r.uss_mb)}"
        )
    print(
        f"  anon MB          {a.anon_mb:8.1f}   {r.anon_mb:8.1f}{'':29}{ratio(a.anon_mb, r.anon_mb)}"
    )
    print(f"  threads          {a.threads:8d}   {r.threads:8d}")
    avg = a.cpu_pct * (1 - cap_cpu_s / INTERVAL_S) + 100.0 * cap_cpu_s / INTERVAL_S
    print(
        f"one reading on demand ({'ok' if ok else 'FAILED'}): {cap_cpu_s:.2f} s of CPU, "
        f"RSS {capture.rss_mb:.1f} MB right after, {after:.1f} MB {args.settle:g} s later; "
        f"average over a {INTERVAL_S:g} s interval ≈ {avg:.2f} % of a core"
    )
    print(
        f"goal CPU <= {CPU_GOAL:g} % of a core: {a.cpu_pct:.2f} %  {_verdict(a.cpu_pct <= CPU_GOAL)}"
    )
    print(
        f"goal RSS <= {RSS_GOAL_MB:g} MB (peak in the window): {a.peak_rss_mb:.1f} MB  "
        f"{_verdict(a.peak_rss_mb <= RSS_GOAL_MB)}"
    )
    return 0 if rested and ok else 1


if __name__ == "__main__":
    sys.exit(main())
