"""A second process for the store tests: a real python running the real Store.

    python child.py probe ROOT           open, report readonly/reason, try to append
    python child.py serve ROOT           a writer driven by lines on stdin
    python child.py crash ROOT START N   append readings forever, print each acknowledged ts

Each prints one line per event on stdout (flushed) so the test can follow it.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta

from energytui.store import Store, StoreError, shards

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def power(i: int) -> dict:
    """A power record at BASE + 5 s * i (PowerSample.to_record() shape)."""
    return {
        "ts": (BASE + timedelta(seconds=5 * i))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "solar_w": float(i % 4000),
        "battery_w": -452.9,
        "grid_w": 0.0,
        "load_w": 891.5,
        "soe_pct": 55.0,
        "reserve_pct": 20.0,
        "grid_status": "up",
        "source": "simulated",
        "solar_produced_wh": 8_123_001.8 + i,
        "grid_imported_wh": 5_412_000.0,
        "grid_exported_wh": 3_977_000.0,
        "battery_charged_wh": 2_840_000.6,
        "battery_discharged_wh": 2_610_000.0,
        "home_consumed_wh": 9_938_001.2 + i,
    }


def say(*parts: object) -> None:
    print(*parts, flush=True)


def probe(root: str) -> None:
    store = Store.open(root)
    out = {"readonly": store.readonly, "reason": store.readonly_reason}
    try:
        store.append("power", power(0))
        out["append"] = "ok"
    except StoreError as exc:
        out["append"] = type(exc).__name__
        out["message"] = str(exc)
    out["rows"] = len(store.query("power", BASE, BASE + timedelta(days=30), resolution="raw"))
    store.close()
    say(json.dumps(out))


def serve(root: str) -> None:
    store = Store.open(root, flush_interval_s=0)
    say(json.dumps({"ready": True, "readonly": store.readonly}))
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "append":  # append FIRST COUNT
            first, count = int(args[0]), int(args[1])
            for i in range(first, first + count):
                store.append("power", power(i))
        elif cmd == "maintain":
            store.maintain(BASE + timedelta(days=1))
        elif cmd == "quit":
            store.close()
            say("bye")
            return
        say("ok", cmd)


def crash(root: str, start: int, seed: int) -> None:
    # small merge thresholds so a short run also merges files when it is killed
    shards.FANOUT = 3
    shards.TIER0_BYTES = 4096
    rng = random.Random(seed)
    store = Store.open(
        root, flush_interval_s=0, raw_retention_days=3650, minute_retention_days=3650
    )
    say("ready")
    i = start
    while True:
        store.append("power", power(i))
        say(i)
        if rng.random() < 0.25:
            say("m")  # killed after this and before the next line: inside maintain()
            store.maintain(BASE + timedelta(seconds=5 * i))
        i += 1


if __name__ == "__main__":
    mode, root, *rest = sys.argv[1:]
    if mode == "probe":
        probe(root)
    elif mode == "serve":
        serve(root)
    elif mode == "crash":
        crash(root, int(rest[0]), int(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")
