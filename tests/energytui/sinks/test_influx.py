"""The InfluxDB writer against a real VictoriaMetrics on loopback, every point read back."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from energytui.config import ConfigError, InfluxConfig, load_config
from energytui.hub import Hub, SampleEvent
from energytui.model import EnergyCounters, GridStatus, PowerSample
from energytui.sinks.influx import InfluxSink, spool_dir
from energytui.store.records import dt_to_ms
from energytui.wire.influx import SCHEMA, to_lines
from meter_agent.schema import MeterReading
from tests.support import free_port
from tests.victoria_support import StallProxy, Victoria, wait_until

TOKEN = "tok-S3CRET-influx-0123456789"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def power(i: int, **kw) -> PowerSample:
    """The i-th test sample, one second apart, values that say which one it is."""
    base = PowerSample(
        ts=T0 + timedelta(seconds=i),
        solar_w=1000.0 + i,
        battery_w=-250.5,
        grid_w=-(10.0 + i),
        load_w=700.25,
        soe_pct=64.5,
        reserve_pct=20.0,
        grid_status=GridStatus.UP,
        counters=EnergyCounters(
            solar_produced_wh=1_000_000.0 + i,
            grid_imported_wh=2_000_000.0,
            grid_exported_wh=500_000.0,
            battery_charged_wh=300_000.0,
            battery_discharged_wh=250_000.0,
            home_consumed_wh=2_750_000.0,
        ),
        source="scripted",
    )
    return replace(base, **kw)


def ms(ts: datetime) -> int:
    """Whole milliseconds, truncated: the time the store keeps for the same sample."""
    return dt_to_ms(ts)


def cfg(url: str, **kw) -> InfluxConfig:
    base: dict[str, Any] = dict(
        url=url, token=TOKEN, org="solar", bucket="energy", batch_size=50,
        flush_interval_s=0.1, timeout_s=2.0,
    )  # fmt: skip
    base.update(kw)
    return InfluxConfig(**base)


def feed(sink: InfluxSink, samples) -> None:
    for s in samples:
        sink.handle(SampleEvent("scripted", s))


def solar_ms(vm: Victoria, expect: int) -> list[int]:
    """Timestamps of every stored solar_w sample (one per power point, duplicates kept)."""
    return [t for t, _ in vm.settled("power_solar_w", expect)]


def expected(indices) -> list[int]:
    return sorted(ms(power(i).ts) for i in indices)


# -- the schema ---------------------------------------------------------------


def test_power_and_meter_lines_follow_the_schema():
    (line,) = to_lines(power(3))
    assert line == (  # the client sorts fields by name
        "power,source=scripted battery_charged_kwh=300,battery_discharged_kwh=250,"
        "battery_pct=64.5,battery_w=-250.5,grid_exported_kwh=500,grid_imported_kwh=2000,"
        "grid_up=1,grid_w=-13,home_consumed_kwh=2750,home_w=700.25,reserve_pct=20,"
        f"solar_produced_kwh=1000.003,solar_w=1003 {ms(T0) + 3000}"
    )
    # unknown is left out, never 0; an islanded site says grid_up=0
    (line,) = to_lines(
        power(0, soe_pct=None, reserve_pct=None, counters=None, grid_status=GridStatus.DOWN)
    )
    fields = line.split(" ")[1].split(",")
    assert [f.split("=")[0] for f in fields] == [
        "battery_w", "grid_up", "grid_w", "home_w", "solar_w",
    ]  # fmt: skip
    assert "grid_up=0" in fields
    (line,) = to_lines(power(0, grid_status=GridStatus.UNKNOWN))
    assert "grid_up" not in line
    m = MeterReading(reading_kwh=1314.25, timestamp=T0, confidence=0.97, method="camera ocr")
    assert to_lines(m) == [
        f"meter,method=camera\\ ocr confidence=0.97,reading_kwh=1314.25 {ms(T0)}"
    ]
    # every field written is declared in SCHEMA, which the Grafana dashboard is checked against
    for line in to_lines(power(1)) + to_lines(m.model_copy(update={"method": "manual"})):
        name = line.split(",", 1)[0]
        tags, fields = SCHEMA[name]
        for f in line.split(" ")[1].split(","):
            assert f.split("=")[0] in fields


# -- configuration --------------------------------------------------------------


def test_seed_env_names_turn_it_on_and_the_token_stays_hidden(tmp_path):
    env = {
        "INFLUXDB_URL": "http://influxdb:8086/",
        "INFLUXDB_TOKEN": TOKEN,
        "INFLUXDB_ORG": "solar",
        "INFLUXDB_BUCKET": "energy",
    }
    c = load_config(environ=env)
    assert c.influxdb.enabled
    assert (c.influxdb.url, c.influxdb.org, c.influxdb.bucket) == (
        "http://influxdb:8086", "solar", "energy",
    )  # fmt: skip
    assert c.influxdb.token == TOKEN
    assert TOKEN not in repr(c) and TOKEN not in repr(c.influxdb)
    assert not load_config(environ={}).influxdb.enabled
    with pytest.raises(ConfigError) as err:
        load_config(environ={"INFLUXDB_URL": "influxdb:8086"})
    assert "influxdb.url" in str(err.value) and "http://" in str(err.value)


# -- against a real server ----------------------------------------------------------


async def test_points_arrive_with_their_values_and_timestamps(victoria, tmp_path):
    sink = InfluxSink(None, cfg(victoria.url), tmp_path / "spool")
    sink.start()
    try:
        feed(sink, [power(i) for i in range(120)])
        readings = [
            MeterReading(
                reading_kwh=round(1314.0 + i / 10, 1), timestamp=T0 + timedelta(seconds=i * 60, milliseconds=123),
                confidence=round(0.9 + i / 100, 2), method="camera_ocr",
            )
            for i in range(5)
        ]  # fmt: skip
        feed(sink, readings)
        await wait_until(lambda: sink.status().points_written == 125, what="125 written")
        st = sink.status()
        assert (st.state, st.points_pending, st.dropped, st.last_error) == ("ok", 0, 0, None)
    finally:
        sink.stop()
    victoria.settled("power_solar_w", 120)
    victoria.settled("meter_confidence", 5)
    got = victoria.export()
    labels = (("source", "scripted"),)
    assert got[("power_solar_w", labels)] == [(ms(power(i).ts), 1000.0 + i) for i in range(120)]
    assert got[("power_grid_w", labels)] == [(ms(power(i).ts), -(10.0 + i)) for i in range(120)]
    assert {v for _, v in got[("power_battery_w", labels)]} == {-250.5}
    assert {v for _, v in got[("power_home_w", labels)]} == {700.25}
    assert {v for _, v in got[("power_battery_pct", labels)]} == {64.5}
    assert {v for _, v in got[("power_grid_up", labels)]} == {1.0}
    assert got[("power_solar_produced_kwh", labels)][7] == (ms(power(7).ts), 1000.007)
    meter = (("method", "camera_ocr"),)
    assert got[("meter_reading_kwh", meter)] == [(ms(r.timestamp), r.reading_kwh) for r in readings]
    assert got[("meter_confidence", meter)] == [(ms(r.timestamp), r.confidence) for r in readings]


class Scripted:
    """A power source for a real hub: a new sample stamped now on every poll."""

    kind = "power"

    def __init__(self, interval_s: float = 0.02) -> None:
        self.name = "scripted"
        self.interval_s = interval_s
        self.timeout_s = 1.0
        self.n = 0

    async def poll(self) -> PowerSample:
        self.n += 1
        return power(0, ts=datetime.now(UTC), solar_w=float(self.n))

    async def close(self) -> None:
        return None


async def test_a_hub_subscriber_writes_every_sample_and_reading(victoria, tmp_path):
    hub = Hub([Scripted()])
    seen: list[PowerSample | MeterReading] = []
    hub.subscribe(lambda e: seen.append(e.sample) if isinstance(e, SampleEvent) else None)
    sink = InfluxSink(hub, cfg(victoria.url), tmp_path / "spool")
    sink.start()
    await hub.start()
    try:
        await wait_until(lambda: len(seen) >= 30)
        now = datetime.now(UTC)
        assert (
            await hub.ingest_meter(
                MeterReading(
                    reading_kwh=1500.5, timestamp=now, confidence=0.99, method="camera_ocr"
                )
            )
            == "stored"
        )
        await hub.stop()
        await wait_until(lambda: sink.status().points_pending == 0)
    finally:
        sink.stop()
        await hub.stop()
    power_ms = sorted(ms(s.ts) for s in seen if isinstance(s, PowerSample))
    assert solar_ms(victoria, len(power_ms)) == power_ms
    assert victoria.settled("meter_reading_kwh", 1) == [(ms(now), 1500.5)]


async def test_server_down_at_start_then_up_loses_and_doubles_nothing(
    victoria_factory, tmp_path, caplog
):
    port = free_port()
    sink = InfluxSink(None, cfg(f"http://127.0.0.1:{port}"), tmp_path / "spool")
    sink.start()
    try:
        feed(sink, [power(i) for i in range(80)])
        await wait_until(lambda: sink.status().last_error is not None)
        st = sink.status()
        assert st.state == "error" and st.points_written == 0 and st.points_pending == 80
        assert st.last_error == (
            f"cannot reach InfluxDB at http://127.0.0.1:{port} (connection refused); points are "
            "kept on disk and sent when it is back."
        )
        assert any(p.suffix == ".lp" for p in (tmp_path / "spool").iterdir())
        feed(sink, [power(i) for i in range(80, 100)])
        vm = victoria_factory(port)
        vm.start()
        feed(sink, [power(i) for i in range(100, 130)])
        await wait_until(lambda: sink.status().points_written == 130, timeout=30)
        assert sink.status().last_error is None and sink.status().state == "ok"
    finally:
        sink.stop()
    assert solar_ms(vm, 130) == expected(range(130))
    # the failure is said once, not on every retry
    assert sum("cannot reach InfluxDB" in r.getMessage() for r in caplog.records) == 1


async def test_server_stopped_mid_stream_and_restarted(victoria, tmp_path):
    sink = InfluxSink(None, cfg(victoria.url), tmp_path / "spool")
    sink.start()
    n = 0

    async def stream(until: int) -> None:
        nonlocal n
        while n < until:
            feed(sink, [power(n)])
            n += 1
            await asyncio.sleep(0.005)

    try:
        await stream(100)
        await wait_until(lambda: sink.status().points_written >= 50)
        victoria.stop()
        await stream(250)
        await wait_until(lambda: sink.status().last_error is not None)
        assert sink.status().points_pending > 0
        victoria.start()
        await stream(400)
        await wait_until(lambda: sink.status().points_written == 400, timeout=30)
    finally:
        sink.stop()
    assert solar_ms(victoria, 400) == expected(range(400))


async def test_a_hanging_server_never_blocks_the_event_loop(victoria, tmp_path):
    proxy = StallProxy(victoria.port)
    hub = Hub([Scripted(interval_s=0.01)])
    seen: list[PowerSample] = []
    hub.subscribe(lambda e: seen.append(e.sample) if isinstance(e, SampleEvent) else None)
    sink = InfluxSink(hub, cfg(proxy.url, timeout_s=0.5, batch_size=20), tmp_path / "spool")
    lags: list[float] = []

    async def watch_loop() -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - t - 0.01)

    watcher = asyncio.create_task(watch_loop())
    sink.start()
    await hub.start()
    try:
        await wait_until(lambda: sink.status().points_written > 0)
        proxy.stalled.set()
        stalled_at = len(seen)
        await wait_until(lambda: proxy.stalled_connections >= 2, timeout=15)
        await wait_until(lambda: len(seen) > stalled_at + 100)
        st = sink.status()
        assert st.last_error and "no answer in time" in st.last_error
        assert st.points_pending > 0
        proxy.stalled.clear()
        proxy.delay_s = 0.2  # slow but within the timeout
        await asyncio.sleep(1.0)
        proxy.delay_s = 0.0
        await hub.stop()
        await wait_until(lambda: sink.status().points_pending == 0, timeout=30)
    finally:
        watcher.cancel()
        sink.stop()
        await hub.stop()
        proxy.close()
    # the loop kept its 10 ms rhythm while writes hung for 0.5 s each
    assert max(lags) < 0.25, max(lags)
    assert solar_ms(victoria, len(seen)) == sorted(ms(s.ts) for s in seen)


async def test_stop_is_bounded_and_the_next_start_sends_the_rest(victoria_factory, tmp_path):
    port = free_port()
    proxy_less = f"http://127.0.0.1:{port}"
    sink = InfluxSink(None, cfg(proxy_less), tmp_path / "spool")
    sink.start()
    feed(sink, [power(i) for i in range(60)])
    await wait_until(lambda: sink.status().last_error is not None)
    t = time.monotonic()
    sink.stop(timeout_s=1.0)
    assert time.monotonic() - t < 2.0
    assert sink.status().state == "stopped" and sink.status().points_pending == 60
    vm = victoria_factory(port)
    vm.start()
    again = InfluxSink(None, cfg(proxy_less), tmp_path / "spool")
    again.start()
    try:
        assert again.status().points_pending == 60
        await wait_until(lambda: again.status().points_written == 60)
    finally:
        again.stop()
    assert solar_ms(vm, 60) == expected(range(60))
    assert not list((tmp_path / "spool").glob("*.lp"))


async def test_a_full_spool_drops_the_oldest_and_counts_them(victoria_factory, tmp_path, caplog):
    port = free_port()
    conf = cfg(f"http://127.0.0.1:{port}", batch_size=5, spool_max_points=20)
    sink = InfluxSink(None, conf, tmp_path / "spool")
    sink.start()
    try:
        for i in range(47):
            feed(sink, [power(i)])
            await asyncio.sleep(0.01)
        await wait_until(
            lambda: sink.status().dropped > 0 and sink._queued() == 0 and sink.spool.incoming == 0
        )
        st = sink.status()
        assert 15 <= st.points_pending <= 20 + 5  # full, less at most one batch (+ in flight)
        assert st.dropped + st.points_pending == 47
        assert any("spool is full" in r.getMessage() for r in caplog.records)
        vm = victoria_factory(port)
        vm.start()
        await wait_until(lambda: sink.status().points_pending == 0, timeout=30)
        kept = sink.status().points_written
        dropped = sink.status().dropped
    finally:
        sink.stop()
    assert kept + dropped == 47
    # the newest arrived, each once; what was dropped is the oldest
    assert solar_ms(vm, 47 - dropped) == expected(range(dropped, 47))


async def test_a_corrupt_spool_file_is_moved_aside_and_nothing_else_is_lost(
    victoria, tmp_path, caplog
):
    spool = tmp_path / "spool"
    spool.mkdir()
    lines = [to_lines(power(i))[0] for i in range(30)]
    (spool / f"{1:010d}-{ms(T0):013d}.lp").write_text("\n".join(lines[:10]) + "\n")
    damaged = lines[10:15] + ["\x00\x17garbage{{", "power,source=x solar_w=1 17"] + lines[15:20]
    (spool / f"{2:010d}-{ms(T0):013d}.lp").write_bytes(
        ("\n".join(damaged) + "\n").encode() + b"\xff\xfe\n"
    )
    # a crash in the middle of an append: the open file's last line is cut short
    (spool / f"open-{ms(T0):013d}.lp").write_text("\n".join(lines[20:30]) + "\npower,sou")
    caplog.set_level(logging.WARNING)
    sink = InfluxSink(None, cfg(victoria.url), spool)
    sink.start()
    try:
        notes = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
        assert len(notes) == 1
        assert notes[0] == (
            f"InfluxDB spool file {2:010d}-{ms(T0):013d}.lp was damaged (3 of 13 lines "
            f"unreadable); moved it to {spool / 'corrupt' / f'{2:010d}-{ms(T0):013d}.lp'} "
            "and kept its 10 good points."
        )
        await wait_until(lambda: sink.status().points_written == 30)
    finally:
        sink.stop()
    assert solar_ms(victoria, 30) == expected(range(30))
    assert (spool / "corrupt" / f"{2:010d}-{ms(T0):013d}.lp").read_bytes().endswith(b"\xff\xfe\n")


async def test_the_token_is_never_logged(victoria_factory, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    sink = InfluxSink(None, cfg(f"http://127.0.0.1:{port}"), tmp_path / "spool")
    sink.start()
    try:
        feed(sink, [power(i) for i in range(10)])
        await wait_until(lambda: sink.status().last_error is not None)
        victoria_factory(port).start()
        await wait_until(lambda: sink.status().points_written == 10)
        text = caplog.text + repr(sink.config) + str(sink.status().to_dict())
    finally:
        sink.stop()
    assert "InfluxDB" in caplog.text  # something was logged at all
    assert TOKEN not in text and TOKEN not in caplog.text


async def test_a_second_writer_of_the_same_spool_is_refused(tmp_path):
    first = InfluxSink(None, cfg("http://127.0.0.1:9"), tmp_path / "spool")
    first.start()
    second = InfluxSink(None, cfg("http://127.0.0.1:9"), tmp_path / "spool")
    try:
        second.start()
        st = second.status()
        assert st.state == "stopped"
        assert st.last_error == (
            f"another energytui process is writing the InfluxDB spool in {tmp_path / 'spool'}."
        )
    finally:
        second.stop()
        first.stop(timeout_s=0.5)


def test_the_spool_lives_under_the_data_dir_and_nothing_is_written_before_start(tmp_path):
    c = load_config(environ={"INFLUXDB_URL": "http://127.0.0.1:9"}, overrides={
        "general": {"data_dir": str(tmp_path / "data")},
    })  # fmt: skip
    assert spool_dir(c) == tmp_path / "data" / "influx-spool"
    sink = InfluxSink(None, c.influxdb, spool_dir(c))
    assert not (tmp_path / "data").exists()
    assert sink.status().state == "stopped"


async def test_a_refused_token_is_said_in_one_sentence_and_the_points_wait(
    victoria_factory, tmp_path, caplog
):
    # VictoriaMetrics with basic auth answers 401 to a token, as InfluxDB does to a wrong one
    vm = victoria_factory(None, "-httpAuth.username=admin", "-httpAuth.password=pw")
    vm.start()
    caplog.set_level(logging.DEBUG)
    sink = InfluxSink(None, cfg(vm.url), tmp_path / "spool")
    sink.start()
    try:
        feed(sink, [power(i) for i in range(5)])
        await wait_until(lambda: sink.status().last_error is not None)
        st = sink.status()
    finally:
        sink.stop(timeout_s=0.5)
    assert st.last_error.startswith(f"InfluxDB at {vm.url} refused the token (401: ")
    assert st.last_error.endswith("check INFLUXDB_TOKEN or influxdb.token.")
    assert "\n" not in st.last_error
    assert (st.points_pending, st.points_written, st.dropped, st.rejected) == (5, 0, 0, 0)
    assert TOKEN not in caplog.text and TOKEN not in st.last_error


class RefusingInflux:
    """Answers the first write as InfluxDB 2 answers unparsable line protocol (400 with
    its JSON error), then takes every write (204). Only this path uses a stand-in: the
    VictoriaMetrics here takes any line protocol with a 204."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.bodies: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(body)
                if len(outer.bodies) == 1:
                    msg = b'{"code":"invalid","message":"unable to parse line 1: bad field"}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                else:
                    self.send_response(204)
                    self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_batch_the_server_refuses_is_moved_aside_and_the_rest_flows(tmp_path):
    server = RefusingInflux()
    sink = InfluxSink(None, cfg(server.url, batch_size=5), tmp_path / "spool")
    sink.start()
    try:
        feed(sink, [power(i) for i in range(5)])
        await wait_until(lambda: sink.status().rejected == 5)
        refused = sink.status().last_error
        feed(sink, [power(i) for i in range(5, 12)])
        await wait_until(lambda: sink.status().points_written == 7)
        st = sink.status()
    finally:
        sink.stop()
        server.close()
    (aside,) = (tmp_path / "spool" / "rejected").iterdir()
    assert refused == (
        f"InfluxDB at {server.url} refused a batch (400: unable to parse line 1: bad field); "
        f"its 5 points were moved to {aside}."
    )
    assert aside.read_bytes() == server.bodies[0]  # the spool file, sent as it is
    assert st.last_error is None  # later writes went through
    assert b"".join(server.bodies[1:]).count(b"\n") == 7


async def test_stop_sends_what_waits_for_the_flush_interval(victoria, tmp_path):
    sink = InfluxSink(None, cfg(victoria.url, flush_interval_s=3600.0), tmp_path / "spool")
    sink.start()
    feed(sink, [power(i) for i in range(10)])
    await asyncio.sleep(0.5)
    assert sink.status().points_written == 0  # a part batch waits for the hour
    await sink.astop(timeout_s=5.0)
    st = sink.status()
    assert (st.state, st.points_written, st.points_pending) == ("stopped", 10, 0)
    assert solar_ms(victoria, 10) == expected(range(10))


def test_a_password_in_the_url_is_never_shown():
    from energytui.sinks.influx import safe_url

    assert safe_url("http://admin:hunter2@db.lan:8086") == "http://admin:***@db.lan:8086"
    assert safe_url("https://db.lan") == "https://db.lan"
    sink = InfluxSink(None, cfg("http://admin:hunter2@127.0.0.1:9"), Path("/nonexistent/spool"))
    assert "hunter2" not in str(sink.status().to_dict())


def test_the_health_line_says_how_far_behind_and_what_is_wrong():
    from energytui.sinks.influx import InfluxStatus

    def st(**kw) -> InfluxStatus:
        base: dict[str, Any] = dict(
            enabled=True, state="ok", url="http://db:8086", points_written=12345,
            points_pending=0, oldest_unsent_age_s=None, dropped=0, rejected=0,
            last_error=None, last_write=None,
        )  # fmt: skip
        base.update(kw)
        return InfluxStatus(**base)

    assert st().line() == "InfluxDB ok, 12,345 written"
    # keeping up, the batch being filled is not "waiting"; what was lost still shows
    assert st(points_pending=40, oldest_unsent_age_s=8.0).line() == "InfluxDB ok, 12,345 written"
    assert st(rejected=5).line() == "InfluxDB ok, 12,345 written, 5 refused"
    assert st(state="behind", points_pending=1500, oldest_unsent_age_s=600).line() == (
        "InfluxDB behind: 1,500 points waiting (oldest 10 min)"
    )
    assert st(
        state="error", points_pending=20, oldest_unsent_age_s=7200.0, dropped=700,
        last_error="cannot reach InfluxDB at http://db:8086 (connection refused); …",
    ).line() == "InfluxDB unreachable: 20 points waiting (oldest 2 h), 700 dropped (spool full)"  # fmt: skip
    assert st(state="behind", points_pending=1, oldest_unsent_age_s=30).line() == (
        "InfluxDB behind: 1 point waiting (oldest 30 s)"
    )
    assert st(state="stopped").line() == "InfluxDB off"
    busy = "another energytui process is writing the InfluxDB spool in /x."
    assert st(state="stopped", last_error=busy).line() == f"InfluxDB stopped: {busy}"
