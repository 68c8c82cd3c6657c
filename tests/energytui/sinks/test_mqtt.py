"""The MQTT sink against a real mosquitto, read back by a real MQTT client."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import UTC, datetime

import pytest

from energytui.config import MqttConfig
from energytui.hub import Hub
from energytui.model import EnergyCounters
from energytui.sinks.mqtt import ENTITIES, MqttSink
from meter_agent.schema import MeterReading
from tests.hub_support import MOSQUITTO, ScriptedSource, sample, wait_for
from tests.mqtt_listener import Listener
from tests.support import free_port

UID = "energytui"


@pytest.fixture
def listener(broker):
    lis = Listener(broker)
    yield lis
    lis.close()


def mqtt_cfg(port: int) -> MqttConfig:
    return MqttConfig(enabled=True, host="127.0.0.1", port=port, interval_s=0.0)


def config_topic(key: str) -> str:
    return f"homeassistant/sensor/{UID}_{key}/config"


async def test_discovery_state_availability_and_clean_offline(broker, listener):
    hub = Hub([ScriptedSource(sample(grid_w=1500.0, battery_w=700.0, soe_pct=64.0))])
    await hub.start()
    sink = MqttSink(hub, mqtt_cfg(broker), announce_jitter_s=0)
    sink.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        await listener.wait(lambda: all(listener.count(config_topic(e.key)) for e in ENTITIES))
        # one publish round is several messages: wait for the last of the ones read below
        await listener.wait(
            lambda: all(
                listener.last(t) is not None
                for t in (
                    "energytui/grid_import",
                    "energytui/battery_discharged",
                    "energytui/battery_level",
                    "energytui/grid_power",
                    "energytui/mode",
                )
            )
        )
        assert listener.last("energytui/status") == "online"
        assert listener.last("energytui/power/available") == "online"

        imp = json.loads(listener.last(config_topic("grid_import")))
        assert (imp["device_class"], imp["state_class"], imp["unit_of_measurement"]) == (
            "energy",
            "total",
            "kWh",
        )
        assert imp["state_topic"] == "energytui/grid_import"
        assert imp["unique_id"] == "energytui_grid_import"
        assert imp["availability_mode"] == "all"
        assert [a["topic"] for a in imp["availability"]] == [
            "energytui/status",
            "energytui/power/available",
        ]
        assert imp["device"]["identifiers"] == ["energytui"] and imp["origin"]["name"]
        grid = json.loads(listener.last(config_topic("grid_power")))
        assert (grid["device_class"], grid["state_class"], grid["unit_of_measurement"]) == (
            "power",
            "measurement",
            "W",
        )
        batt = json.loads(listener.last(config_topic("battery_level")))
        assert (batt["device_class"], batt["unit_of_measurement"]) == ("battery", "%")
        meter = json.loads(listener.last(config_topic("meter_energy")))
        assert meter["availability"][1]["topic"] == "energytui/meter/available"
        mode = json.loads(listener.last(config_topic("mode")))
        assert mode["device_class"] == "enum" and "drawing_from_battery" in mode["options"]

        assert listener.last("energytui/grid_import") == "2000.000"
        assert listener.last("energytui/battery_discharged") == "250.000"
        assert listener.last("energytui/battery_level") == "64.0"
        assert listener.last("energytui/grid_power") == "1500.0"
        assert listener.last("energytui/mode") == "drawing_from_battery"

        # Home Assistant restarts: its birth message must bring the discovery back
        before = listener.count(config_topic("grid_import"))
        listener.publish("homeassistant/status", "online")
        await listener.wait(lambda: listener.count(config_topic("grid_import")) > before)
    finally:
        sink.stop()
        await hub.stop()
    await listener.wait(lambda: listener.last("energytui/status") == "offline")
    late = Listener(broker, topics=("energytui/status",))
    try:
        await late.wait(lambda: late.last("energytui/status") is not None)
        assert late.messages["energytui/status"][0] == ("offline", True)  # retained
    finally:
        late.close()


async def test_unknown_is_never_zero_totals_never_go_down_stale_goes_unavailable(broker, listener):
    src = ScriptedSource(sample(soe_pct=None, reserve_pct=None))
    hub = Hub([src])
    await hub.start()
    sink = MqttSink(hub, mqtt_cfg(broker), announce_jitter_s=0)
    sink.start()
    try:
        await listener.wait(lambda: listener.count("energytui/grid_import") >= 2)
        lower = EnergyCounters(**(src.next.counters.to_dict() | {"grid_imported_wh": 10.0}))
        src.next = src.next.with_(counters=lower, solar_w=3333.0)
        await listener.wait(lambda: listener.last("energytui/solar_power") == "3333.0")
        n_solar = listener.count("energytui/solar_power")
        await listener.wait(lambda: listener.count("energytui/solar_power") >= n_solar + 3)

        src.fail_with = "The scripted gateway is gone."
        hub.poll_now()
        await listener.wait(lambda: listener.last("energytui/power/available") == "offline")
        src.fail_with = None
        hub.poll_now()
        await listener.wait(lambda: listener.last("energytui/power/available") == "online")
    finally:
        sink.stop()
        await hub.stop()
    assert listener.count("energytui/battery_level") == 0
    assert listener.count("energytui/backup_reserve") == 0
    imports = [float(v) for v in listener.values("energytui/grid_import")]
    assert imports and min(imports) == 2000.0  # the lower counter was held back


async def test_meter_reading_published_and_gated(broker, listener):
    hub = Hub([ScriptedSource(sample())])
    await hub.start()
    sink = MqttSink(hub, mqtt_cfg(broker), announce_jitter_s=0)
    sink.start()
    try:
        await listener.wait(lambda: listener.last("energytui/meter/available") == "offline")
        now = datetime.now(UTC)
        await hub.ingest_meter(
            MeterReading(reading_kwh=5123.4, timestamp=now, confidence=0.87, id="a")
        )
        await listener.wait(lambda: listener.last("energytui/meter_last_read") is not None)
        assert listener.last("energytui/meter_energy") == "5123.400"
        assert listener.last("energytui/meter/available") == "online"
        assert listener.last("energytui/meter_confidence") == "87"
        assert listener.last("energytui/meter_last_read").endswith("Z")
        assert (
            await hub.ingest_meter(
                MeterReading(reading_kwh=5000.0, timestamp=now, confidence=0.9, id="b")
            )
            == "lower"
        )
    finally:
        sink.stop()
        await hub.stop()
    assert listener.values("energytui/meter_energy") == ["5123.400"]


async def test_broker_restart_reconnects_and_announces_again(tmp_path):
    import subprocess

    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")

    def start_broker() -> subprocess.Popen:
        proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return proc
            except OSError:
                time.sleep(0.05)
        proc.kill()
        raise AssertionError("mosquitto did not start")

    hub = Hub([ScriptedSource(sample())])
    await hub.start()
    sink = MqttSink(hub, mqtt_cfg(port), announce_jitter_s=0)
    sink.start()  # no broker yet: the sink keeps trying in the background
    broker = start_broker()
    listener = None
    try:
        await wait_for(lambda: sink.connected.is_set(), timeout=15)
        first = sink.announcements
        broker.terminate()
        broker.wait(5)
        await wait_for(lambda: not sink.connected.is_set(), timeout=15)
        broker = start_broker()  # a fresh broker has forgotten every retained message
        listener = Listener(port)
        await listener.wait(lambda: listener.last("energytui/grid_import") is not None, 20)
        assert sink.announcements > first
        assert listener.last("energytui/status") == "online"
    finally:
        sink.stop()
        await hub.stop()
        if listener is not None:
            listener.close()
        broker.terminate()
        broker.wait(5)
