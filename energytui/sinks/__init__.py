"""Optional sinks that publish the hub's readings elsewhere (MQTT / Home Assistant)."""
