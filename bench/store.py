"""Store benchmark: flat insert cost, open time, chart query, memory and SD-card writes.

    python -m bench.store            # full run (a few minutes)
    python -m bench.store --quick    # smaller samples and a 6-hour write simulation

It builds two stores of 5-second power readings from the simulated site: one with
1 day of history and one with 1 year (raw shards for the retention window, then
1-minute, 15-minute and daily rollups, written straight through the store's own
shard writer and rollup code). A child process then opens both, appends readings
through ``Store.append`` exactly as the hub does (one reading, ``maintain`` once
a minute of reading time), alternating between the two stores so both see the
same disk, and times the chart query; its peak RSS is the memory figure. Last, a
fresh store lives through a whole day of readings (24 h 15 min, so the day is
closed and merged) and the bytes it wrote — journal, shards, rollups — are
counted by the store itself. Everything lives in a temp dir that is deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from energytui.sources.simulated import SimulatedSite
from energytui.store import Store
from energytui.store import rollup as ru
from energytui.store.records import DAY_MS, day_key, dt_to_ms, month_key, ms_to_dt, year_key
from energytui.store.shards import Shards

STEP_S = 5
MB = 1_000_000


# ---------------------------------------------------------------------------
# building histories
# ---------------------------------------------------------------------------
def _raw_day(site: SimulatedSite, day_start: int, until: int) -> dict[int, dict]:
    out = {}
    ts = day_start
    while ts < until:
        out[ts] = site.advance(ms_to_dt(ts)).to_record()
        ts += STEP_S * 1000
    return out


def _minutes_from_raw(raw: dict[int, dict]) -> dict[int, dict]:
    groups: dict[int, list[dict]] = {}
    for ts in sorted(raw):
        groups.setdefault(ts - ts % 60_000, []).append(raw[ts])
    return {m: ru.rollup_records(m, recs) for m, recs in groups.items()}


def _synth(site: SimulatedSite, start: int, until: int, width_ms: int) -> dict[int, dict]:
    """Rollup buckets made from one sample per bucket (count scaled to 5-s readings)."""
    out = {}
    ts = start
    per = width_ms // (STEP_S * 1000)
    while ts < until:
        rec = site.advance(ms_to_dt(ts + width_ms // 2)).to_record()
        doc = ru.rollup_records(ts, [rec])
        doc["count"] = per
        out[ts] = doc
        ts += width_ms
    return out


def _group(docs: dict[int, dict], width_ms: int) -> dict[int, list[dict]]:
    groups: dict[int, list[dict]] = {}
    for ts in sorted(docs):
        groups.setdefault(ts - ts % width_ms, []).append(docs[ts])
    return groups


def build_history(
    root: Path, end: datetime, days: int, *, raw_days: int = 14, minute_days: int = 90
) -> None:
    """Write the ``days`` before ``end`` as the store would hold them by then: raw
    shards for the raw retention window, 1-minute rollups for the minute window,
    15-minute and daily rollups for all of it. Past periods are single base files;
    the current day, month and year are segments, like a live store's."""
    Store.open(root).close()  # marker, lock file, journal
    sh = Shards(root, readonly=False, fsync=False)
    end_ms = dt_to_ms(end)
    start_ms = end_ms - days * DAY_MS
    today = end_ms - end_ms % DAY_MS
    site = SimulatedSite()
    q_all: dict[int, dict] = {}
    d1_all: dict[int, dict] = {}
    for day in range(start_ms - start_ms % DAY_MS, today + DAY_MS, DAY_MS):
        since, until = max(day, start_ms), min(day + DAY_MS, end_ms)
        age_days = (today - day) // DAY_MS
        if age_days <= raw_days:
            raw = _raw_day(site, since, until)
            minutes = _minutes_from_raw(raw)
            if day == today:  # the current day: a few segments, as merging leaves them
                for h in range(day, until, 4 * 3_600_000):
                    chunk = {k: v for k, v in raw.items() if h <= k < h + 4 * 3_600_000}
                    mins = {k: v for k, v in minutes.items() if h <= k < h + 4 * 3_600_000}
                    if chunk:
                        sh.write_segment("raw", "power", day_key(day), chunk)
                        sh.write_segment("1m", "power", day_key(day), mins)
            else:
                sh.write_base("raw", "power", day_key(day), raw)
                sh.write_base("1m", "power", day_key(day), minutes)
            quarters = {q: ru.combine(q, docs) for q, docs in _group(minutes, 900_000).items()}
        elif age_days <= minute_days:
            minutes = _synth(site, since, until, 60_000)
            sh.write_base("1m", "power", day_key(day), minutes)
            quarters = {q: ru.combine(q, docs) for q, docs in _group(minutes, 900_000).items()}
        else:
            quarters = _synth(site, since, until, 900_000)
        q_all.update(quarters)
        d1_all[day] = ru.combine(day, [quarters[k] for k in sorted(quarters)])
    for month, docs in _by_period(q_all, month_key).items():
        if month == month_key(end_ms):
            for _day, chunk in sorted(_by_period(docs, day_key).items()):
                sh.write_segment("15m", "power", month, chunk)
        else:
            sh.write_base("15m", "power", month, docs)
    for year, docs in _by_period(d1_all, year_key).items():
        if year == year_key(end_ms):
            sh.write_segment("1d", "power", year, docs)
        else:
            sh.write_base("1d", "power", year, docs)
    for level in ("raw", "1m", "15m", "1d"):
        for period in list(sh.index(level, "power")):
            sh.compact(level, "power", period)


def _by_period(docs: dict[int, dict], key) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for ts, doc in docs.items():
        out.setdefault(key(ts), {})[ts] = doc
    return out


def disk_usage(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
    return files, size


# ---------------------------------------------------------------------------
# the measuring child (its peak RSS is the memory figure)
# ---------------------------------------------------------------------------
def child_inserts(day_root: Path, year_root: Path, end: datetime, n_appends: int) -> dict:
    """Open both stores, time opens, the chart query and interleaved appends."""
    out: dict = {}
    opens = []
    for _ in range(5):
        t = time.perf_counter()
        s = Store.open(year_root)
        opens.append(time.perf_counter() - t)
        s.close()
    out["open_year_s"] = opens[0]
    out["open_year_median_s"] = statistics.median(opens)
    day = Store.open(day_root)
    year = Store.open(year_root)

    q_start, q_end = end - timedelta(hours=24), end
    t = time.perf_counter()
    rows = year.query("power", q_start, q_end)
    out["query24_cold_s"] = time.perf_counter() - t
    out["query24_rows"] = len(rows)
    warm = []
    for _ in range(20):
        t = time.perf_counter()
        year.query("power", q_start, q_end, max_points=480)
        warm.append(time.perf_counter() - t)
    out["query24_warm_s"] = statistics.median(warm)
    t = time.perf_counter()
    rows = year.query("power", end - timedelta(days=365), end, max_points=400)
    out["query365_s"] = time.perf_counter() - t
    out["query365_rows"] = len(rows)

    # appends alternate between the two stores (same disk weather for both);
    # maintain once a minute of readings, as the hub does, timed apart
    site = SimulatedSite()
    lat: dict[str, list[float]] = {"day": [], "year": []}
    maint: dict[str, list[float]] = {"day": [], "year": []}
    stores = {"day": day, "year": year}
    for i in range(n_appends):
        ts = end + timedelta(seconds=STEP_S * (i + 1))
        rec = site.advance(ts).to_record()
        for name in ("day", "year") if i % 2 == 0 else ("year", "day"):
            s = stores[name]
            t = time.perf_counter()
            s.append("power", rec)
            lat[name].append(time.perf_counter() - t)
            if (i + 1) % 12 == 0:
                t = time.perf_counter()
                s.maintain(ts)
                maint[name].append(time.perf_counter() - t)
    for name in ("day", "year"):
        xs = sorted(lat[name])
        out[f"insert_p50_{name}_s"] = xs[len(xs) // 2]
        out[f"insert_p99_{name}_s"] = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        ms = sorted(maint[name])
        out[f"maintain_p50_{name}_s"] = ms[len(ms) // 2]
        out[f"maintain_max_{name}_s"] = ms[-1]
    day.close()
    year.close()
    return out


def child_memory(year_root: Path, end: datetime, n_appends: int) -> dict:
    """One store at 1 year, used the way the monitor uses it: peak RSS of this process."""
    store = Store.open(year_root)
    store.latest("power")
    store.query(
        "power", end.replace(hour=0, minute=0, second=0), end, resolution="raw"
    )  # hub restart
    for span, points in (
        (timedelta(hours=1), None),
        (timedelta(hours=6), 480),
        (timedelta(days=1), 480),
        (timedelta(days=7), 480),
        (timedelta(days=90), 480),
        (timedelta(days=365), 480),
    ):
        store.query("power", end - span, end, max_points=points)
    site = SimulatedSite()
    for i in range(n_appends):
        ts = end + timedelta(seconds=STEP_S * (i + 1))
        store.append("power", site.advance(ts).to_record())
        if (i + 1) % 12 == 0:
            store.maintain(ts)
        if (i + 1) % 120 == 0:
            store.query("power", ts - timedelta(days=1), ts, max_points=480)
    store.close()
    return {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


# ---------------------------------------------------------------------------
# a day of readings: bytes written
# ---------------------------------------------------------------------------
def simulate_day(root: Path, hours: float) -> dict:
    start = datetime(2026, 6, 21, tzinfo=UTC)
    store = Store.open(root)
    site = SimulatedSite()
    n = int(hours * 3600 / STEP_S)
    t0 = time.perf_counter()
    for i in range(n):
        ts = start + timedelta(seconds=STEP_S * i)
        store.append("power", site.advance(ts).to_record())
        if (i + 1) % 12 == 0:
            store.maintain(ts)
    stats = store.stats()
    store.close()
    files, size = disk_usage(root)
    return {
        "hours": hours,
        "readings": n,
        "bytes_written": stats["bytes_written"],
        "by_kind": stats["bytes_written_by_kind"],
        "files": files,
        "bytes_on_disk": size,
        "seconds": time.perf_counter() - t0,
    }


def _child(what: str, *argv: str) -> dict:
    if what == "build":
        t = time.perf_counter()
        end = datetime.fromisoformat(argv[2])
        build_history(Path(argv[0]), end, 1)
        build_history(Path(argv[1]), end, 365)
        return {"seconds": time.perf_counter() - t}
    if what == "inserts":
        return child_inserts(
            Path(argv[0]), Path(argv[1]), datetime.fromisoformat(argv[2]), int(argv[3])
        )
    if what == "memory":
        return child_memory(Path(argv[0]), datetime.fromisoformat(argv[1]), int(argv[2]))
    if what == "wear":
        return simulate_day(Path(argv[0]), float(argv[1]))
    raise SystemExit(f"unknown child {what!r}")


def _run(what: str, *argv: object) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.store", "--child", what, *map(str, argv)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench.store: the {what} step failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
def _fmt_ms(s: float) -> str:
    return f"{s * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smaller samples; write figure from 6 h scaled to a day",
    )
    ap.add_argument(
        "--keep", metavar="DIR", help="build in DIR and keep it (default: a temp dir, deleted)"
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="energytui-bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    try:
        # yesterday 23:00 UTC: a nearly full current day, whatever the hour of the run
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        end -= timedelta(hours=1)
        day_root, year_root = work / "day", work / "year"
        # every step runs in a child process: this one stays small, so each child's
        # ru_maxrss (which counts the parent's size at fork) is the child's own peak
        built = _run("build", day_root, year_root, end.isoformat())
        yf, ysize = disk_usage(year_root)
        print(
            f"built 1-day and 1-year histories in {built['seconds']:.1f} s;"
            f" 1-year store: {yf} files, {ysize / MB:.1f} MB"
        )
        n = 600 if args.quick else 2400
        mem_root = work / "year-memory"  # its own copy: the insert run adds readings
        shutil.copytree(year_root, mem_root)
        r = _run("inserts", day_root, year_root, end.isoformat(), n)
        r.update(_run("memory", mem_root, end.isoformat(), n))
        shutil.rmtree(mem_root, ignore_errors=True)
        hours = 6.0 if args.quick else 24.25
        sim = _run("wear", work / "wear", hours)
        per_day = sim["bytes_written"] * (24.0 / hours if args.quick else 1.0)

        ratio = r["insert_p50_year_s"] / r["insert_p50_day_s"]
        rows = [
            ("insert p50, 1 day of history", _fmt_ms(r["insert_p50_day_s"]), "", None),
            ("insert p50, 1 year of history", _fmt_ms(r["insert_p50_year_s"]), "", None),
            ("insert p50 ratio, 1 year / 1 day", f"{ratio:.2f}", "<= 1.2", ratio <= 1.2),
            (
                "insert p99, 1 day of history",
                _fmt_ms(r["insert_p99_day_s"]),
                "<= 20 ms",
                r["insert_p99_day_s"] <= 0.020,
            ),
            (
                "insert p99, 1 year of history",
                _fmt_ms(r["insert_p99_year_s"]),
                "<= 20 ms",
                r["insert_p99_year_s"] <= 0.020,
            ),
            (
                "open, 1 year of history (first)",
                _fmt_ms(r["open_year_s"]),
                "<= 1 s",
                r["open_year_s"] <= 1.0,
            ),
            ("open, 1 year (median of 5)", _fmt_ms(r["open_year_median_s"]), "", None),
            (
                f"last-24 h chart query, 1 year, cold ({r['query24_rows']} rows)",
                _fmt_ms(r["query24_cold_s"]),
                "<= 50 ms",
                r["query24_cold_s"] <= 0.050,
            ),
            (
                "last-24 h chart query, warm, max_points=480",
                _fmt_ms(r["query24_warm_s"]),
                "<= 50 ms",
                r["query24_warm_s"] <= 0.050,
            ),
            (
                f"1-year chart query, max_points=400 ({r['query365_rows']} rows)",
                _fmt_ms(r["query365_s"]),
                "",
                None,
            ),
            (
                "peak RSS, one store at 1 year in use",
                f"{r['peak_rss_bytes'] / 2**20:.1f} MiB",
                "<= 100 MB",
                r["peak_rss_bytes"] <= 100 * MB,
            ),
            (
                "bytes written per day of 5-s readings"
                + (" (6 h x 4)" if args.quick else " (24 h 15 min)"),
                f"{per_day / MB:.1f} MB",
                "<= 50 MB",
                per_day <= 50 * MB,
            ),
            (
                "maintain p50 / max, 1 year",
                f"{r['maintain_p50_year_s'] * 1000:.1f} / {r['maintain_max_year_s'] * 1000:.1f} ms",
                "",
                None,
            ),
        ]
        width = max(len(a) for a, *_ in rows)
        print()
        print(f"{'figure':<{width}}  {'value':>14}  {'goal':>10}  result")
        fails = 0
        for name, value, goal, ok in rows:
            verdict = "" if ok is None else ("PASS" if ok else "FAIL")
            fails += ok is False
            print(f"{name:<{width}}  {value:>14}  {goal:>10}  {verdict}")
        kinds = ", ".join(f"{k} {v / MB:.1f}" for k, v in sorted(sim["by_kind"].items()))
        print()
        print(f"write breakdown (MB over {sim['hours']} h): {kinds}")
        print(
            f"after the simulated day: {sim['files']} files, {sim['bytes_on_disk'] / MB:.1f} MB on disk;"
            f" {sim['readings']} readings took {sim['seconds']:.1f} s"
        )
        print(f"whole run: {time.perf_counter() - t_all:.0f} s; {fails} goal(s) missed")
        return 1 if fails else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
