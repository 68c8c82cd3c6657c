"""A real MQTT client that records what the broker delivers, for the sink tests."""

from __future__ import annotations

import asyncio
import threading
import time

import paho.mqtt.client as mqtt


class Listener:
    """Subscribes to everything and keeps every message per topic (with the retain flag)."""

    def __init__(self, port: int, topics: tuple[str, ...] = ("#",)) -> None:
        self.messages: dict[str, list[tuple[str, bool]]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("the test listener could not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.setdefault(msg.topic, []).append(
                (msg.payload.decode("utf-8"), bool(msg.retain))
            )

    def values(self, topic: str) -> list[str]:
        with self._lock:
            return [p for p, _ in self.messages.get(topic, [])]

    def last(self, topic: str) -> str | None:
        v = self.values(topic)
        return v[-1] if v else None

    def count(self, topic: str) -> int:
        return len(self.values(topic))

    def topics(self, prefix: str) -> list[str]:
        with self._lock:
            return [t for t in self.messages if t.startswith(prefix)]

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    async def wait(self, pred, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"MQTT condition not met; topics seen: {sorted(self.messages)}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
