"""MQTT publisher with Home Assistant discovery.

Why these choices (see shared/research/integrations.md §1):

* Per-entity discovery (``<prefix>/sensor/<unique_id>/config``), not retained:
  it works on every HA version, and it is re-sent whenever HA's birth message
  (``<prefix>/status`` = ``online``) arrives, which is the method HA's docs
  prefer; retained configs leave ghost entities behind.
* Availability is two topics, both required (``availability_mode: all``):
  ``<base>/status`` for the process (a broker Last Will says ``offline`` if we
  die; we say it ourselves on a clean stop, because a clean disconnect does not
  fire the Will) and ``<base>/power/available`` or ``<base>/meter/available`` for
  whether that data is live. Stale data therefore shows as *unavailable* in HA
  instead of as the last value pretending to be current.
* One plain-value topic per entity (``<base>/<key>``, retained): a value that is
  not known is simply not published, so HA never sees a ``0`` for unknown.
* Energy totals (lifetime kWh, ``state_class: total``) are never published lower
  than before: HA and Prometheus read a dip as a meter reset and add a spike.

paho-mqtt runs its own network thread and reconnects by itself; every
(re)connect re-announces and re-publishes the current state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from energytui import __version__
from energytui.config import MqttConfig
from energytui.hub import HealthEvent, Hub, HubEvent, SampleEvent
from energytui.model import PowerSample
from energytui.wire.columns import Sensor
from energytui.wire.ha import SENSORS, states
from energytui.wire.table import COUNTERS, METER, POWER
from meter_agent import rules as meter_rules
from meter_agent.schema import MeterReading

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"


#: Every Home Assistant entity, from the wire table (:mod:`energytui.wire.table`).
ENTITIES: tuple[Sensor, ...] = SENSORS

#: Totals that must never be published lower than before.
TOTAL_KEYS = frozenset(e.key for e in ENTITIES if e.state_class == "total")


def _slug(text: str) -> str:
    s = re.sub(r"[^a-zA-Z0-9_-]+", "_", text).strip("_")
    return s or "energytui"


class MqttSink:
    """Publishes the hub's readings to MQTT with HA discovery; start() and stop() it."""

    def __init__(
        self,
        hub: Hub,
        config: MqttConfig,
        *,
        meter_stale_s: float = 900.0,
        announce_jitter_s: float = 2.0,
    ) -> None:
        self.hub = hub
        self.config = config
        self.meter_stale_s = meter_stale_s
        self.announce_jitter_s = announce_jitter_s
        self.base = config.base_topic.strip("/") or "energytui"
        self.prefix = config.discovery_prefix.strip("/") or "homeassistant"
        self.node = _slug(self.base)
        self.status_topic = f"{self.base}/status"
        self._lock = threading.RLock()
        self._high: dict[str, float] = {}  # highest total published per key
        self._avail: dict[str, str] = {}  # last availability published per group
        self._last_power_pub = float("-inf")
        self._last_fail_log = float("-inf")
        self._unsubscribe: Callable[[], None] | None = None
        self._timers: list[threading.Timer] = []
        self.connected = threading.Event()
        self.announcements = 0  # how many times discovery was sent (for the TUI/tests)
        self._client = self._make_client()

    # -- lifecycle -----------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        c = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{self.node}-{random.getrandbits(32):08x}",
            clean_session=True,
        )
        if self.config.username:
            c.username_pw_set(self.config.username, self.config.password or None)
        c.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        c.reconnect_delay_set(min_delay=1, max_delay=60)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        return c

    def start(self) -> None:
        """Connect in the background (paho retries until the broker is there)."""
        self._unsubscribe = self.hub.subscribe(self._on_hub_event)
        log.info("MQTT: connecting to %s:%s", self.config.host, self.config.port)
        self._client.connect_async(self.config.host, self.config.port, keepalive=30)
        self._client.loop_start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Say ``offline`` ourselves (a clean disconnect does not fire the Will), then leave."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for t in self._timers:
            t.cancel()
        if self.connected.is_set():
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    # -- paho callbacks (network thread) ---------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT: the broker refused the connection (%s)", reason_code)
            return
        log.info("MQTT: connected to %s:%s", self.config.host, self.config.port)
        client.subscribe(f"{self.prefix}/status", qos=1)
        client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        with self._lock:
            self._avail.clear()
        self.announce()
        self.publish_state(force=True)
        self.connected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        now = time.monotonic()
        if now - self._last_fail_log >= 300.0:  # say it once, not on every retry
            self._last_fail_log = now
            log.warning(
                "MQTT: cannot reach the broker at %s:%s; retrying in the background",
                self.config.host,
                self.config.port,
            )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("MQTT: disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic != f"{self.prefix}/status":
            return
        if msg.payload.decode("utf-8", "replace").strip().lower() != ONLINE:
            return
        # HA restarted: its entities stay unavailable until discovery arrives again
        delay = random.uniform(0.0, self.announce_jitter_s) if self.announce_jitter_s else 0.0
        timer = threading.Timer(delay, self._reannounce)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _reannounce(self) -> None:
        self.announce()
        self.publish_state(force=True)

    # -- discovery -------------------------------------------------------------
    def device(self) -> dict[str, Any]:
        return {
            "identifiers": [self.node],
            "name": "Home energy (energytui)",
            "manufacturer": "energytui",
            "model": "Powerwall and utility meter monitor",
            "sw_version": __version__,
        }

    def discovery(self, e: Sensor) -> tuple[str, dict[str, Any]]:
        """The config topic and payload for one entity."""
        uid = f"{self.node}_{e.key}"
        payload: dict[str, Any] = {
            "name": e.name,
            "unique_id": uid,
            "state_topic": f"{self.base}/{e.key}",
            "availability": [
                {"topic": self.status_topic},
                {"topic": f"{self.base}/{'meter' if e.group == 'meter' else 'power'}/available"},
            ],
            "availability_mode": "all",
            "device": self.device(),
            "origin": {"name": "energytui", "sw_version": __version__},
        }
        for k, v in (
            ("device_class", e.device_class),
            ("state_class", e.state_class),
            ("unit_of_measurement", e.unit),
            ("suggested_display_precision", e.precision),
            ("icon", e.icon),
        ):
            if v is not None:
                payload[k] = v
        if e.options:
            payload["options"] = list(e.options)
        if e.diagnostic:
            payload["entity_category"] = "diagnostic"
        return f"{self.prefix}/sensor/{uid}/config", payload

    def announce(self) -> None:
        for e in ENTITIES:
            topic, payload = self.discovery(e)
            self._client.publish(topic, json.dumps(payload), qos=1, retain=False)
        self.announcements += 1

    # -- state -----------------------------------------------------------------
    def _pub(self, key: str, value: str) -> None:
        self._client.publish(f"{self.base}/{key}", value, qos=0, retain=True)

    def _set_avail(self, group: str, online: bool, *, force: bool = False) -> bool:
        """Publish a group's availability when it changed; True if it changed."""
        word = ONLINE if online else OFFLINE
        with self._lock:
            if not force and self._avail.get(group) == word:
                return False
            self._avail[group] = word
        self._client.publish(f"{self.base}/{group}/available", word, qos=1, retain=True)
        return True

    def _publish_total(self, key: str, kwh: float, ndigits: int = 3) -> None:
        value = round(kwh, ndigits)
        with self._lock:
            if meter_rules.holds_back_total(value, self._high.get(key)):
                log.debug("MQTT: %s %.3f lower than published %.3f, held back", key, value,
                          self._high[key])  # fmt: skip
                return
            self._high[key] = value
        self._pub(key, f"{value:.{ndigits}f}")

    def _meter_live(self) -> bool:
        from energytui.api.views import meter_is_live

        return meter_is_live(self.hub, self.hub.clock.now(), self.meter_stale_s)

    def _publish(self, found: list[tuple[Sensor, str | float]]) -> None:
        for sensor, value in found:
            if sensor.total:
                self._publish_total(sensor.key, float(value))
            else:
                self._pub(sensor.key, str(value))

    def publish_power(self, s: PowerSample) -> None:
        self._publish(states(POWER, s))
        if s.counters is not None:
            self._publish(states(COUNTERS, s.counters))
        self._last_power_pub = time.monotonic()

    def publish_meter(self, m: MeterReading) -> None:
        self._publish(states(METER, m))

    def publish_state(self, *, force: bool = False) -> None:
        """Availability for both groups, then every value that is live."""
        hub = self.hub
        s = hub.latest_power
        power_live = hub.power_is_live and s is not None
        meter_live = self._meter_live()
        self._set_avail("power", power_live, force=force)
        self._set_avail("meter", meter_live, force=force)
        if power_live and s is not None:
            self.publish_power(s)
        if meter_live and hub.latest_meter is not None:
            self.publish_meter(hub.latest_meter)

    # -- hub events (event-loop thread) ------------------------------------------
    def _on_hub_event(self, event: HubEvent) -> None:
        if not self.connected.is_set():
            return  # on_connect publishes everything when we are back
        hub = self.hub
        if isinstance(event, SampleEvent):
            if isinstance(event.sample, PowerSample):
                if not hub.power_is_live:
                    return
                came_back = self._set_avail("power", True)
                due = time.monotonic() - self._last_power_pub >= self.config.interval_s
                if came_back or due:
                    self.publish_power(event.sample)
            elif isinstance(event.sample, MeterReading) and self._meter_live():
                self._set_avail("meter", True)
                self.publish_meter(event.sample)
        elif isinstance(event, HealthEvent):
            # every poll's health event re-checks both groups: a pushed meter reading
            # has no source of its own to tell us when it goes stale
            s = hub.latest_power
            power_live = hub.power_is_live and s is not None
            if self._set_avail("power", power_live) and power_live and s is not None:
                self.publish_power(s)
            self._set_avail("meter", self._meter_live())
