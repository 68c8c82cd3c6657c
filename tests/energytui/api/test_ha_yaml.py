"""The example Home Assistant YAML renders against real /current_readings answers.

Each template is rendered with Jinja2 (the engine HA uses) over the JSON the API
really returns, so a renamed field or a wrong path shows up here.
"""

from __future__ import annotations

import jinja2
import yaml

from energytui.hub import Hub
from energytui.sources.simulated import SimulatedSource
from tests.hub_support import ScriptedSource, api_client, sample, wait_for
from tests.support import REPO

YAML = REPO / "deploy" / "home-assistant" / "configuration.yaml"
ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)


def entities() -> list[dict]:
    block = yaml.safe_load(YAML.read_text(encoding="utf-8"))["rest"][0]
    assert block["resource"].endswith("/api/v1/current_readings")
    return block["sensor"] + block["binary_sensor"]


def render(template: str, body: dict) -> str:
    return ENV.from_string(template).render(value_json=body).strip()


async def current(hub: Hub) -> dict:
    async with api_client(hub) as c:
        return (await c.get("/api/v1/current_readings")).json()


async def test_every_template_renders_a_value_when_live():
    src = ScriptedSource(sample(grid_w=-900.0, battery_w=-1500.0, soe_pct=71.5))
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        body = await current(hub)
    finally:
        await hub.stop()
    body["meter"] = {"reading_kwh": 812.5, "confidence": 0.9, "stale": False}
    values = {}
    for e in entities():
        assert render(e.get("availability", "True"), body) == "True", e["name"]
        values[e["name"]] = render(e["value_template"], body)
    assert values["Grid power"] == "-900.0"
    assert values["Battery power"] == "-1500.0"
    assert values["Powerwall battery"] == "71.5"
    assert values["Battery status"] == "charging"
    assert values["Grid direction"] == "exporting"
    assert values["Grid import"] == "2000.0"
    assert values["Battery discharged"] == "250.0"
    assert values["Utility meter"] == "812.5"
    assert values["Grid connected"] == "True"


async def test_stale_data_makes_the_sensors_unavailable():
    src = SimulatedSource(interval_s=0.05)
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        src.fail_with = "The gateway is gone."
        hub.poll_now()
        await wait_for(lambda: not hub.power_is_live)
        body = await current(hub)
    finally:
        await hub.stop()
    for e in entities():
        if "availability" not in e or e["name"] == "Meter read confidence":
            continue  # the liveness sensor itself, and a diagnostic that may show old reads
        assert render(e["availability"], body) == "False", e["name"]
    live = next(e for e in entities() if e["name"] == "energytui data live")
    assert render(live["value_template"], body) == "False"
