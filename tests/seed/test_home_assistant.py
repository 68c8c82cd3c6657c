"""The seed's Home Assistant configuration.yaml, as written, against a live energytui.

HA's REST sensor reads ``/current_readings``: its ``value_template`` makes the state,
its ``json_attributes`` the attributes (with ``system_summary`` added, the one line
docs/migrating.md tells the user to add). Each template sensor is then rendered with
Jinja2 and HA's ``state_attr``, ``int`` and ``round`` (minimal versions here), and must
give a number, or a word for the mode.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from energytui.model import SeedMode
from tests.seed.conftest import Served

_NO_DEFAULT = object()


def _int(value: Any, default: Any = _NO_DEFAULT) -> Any:
    """HA's ``int`` filter: the number, else the default (an error without one)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        if default is _NO_DEFAULT:
            raise
        return default


def _round(value: Any, precision: int = 0) -> float:
    """HA's ``round`` filter without a default: a value that is not a number is an error."""
    return round(float(value), precision)


def entity_id(domain: str, name: str) -> str:
    return f"{domain}.{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"


def load(seed_dir: Path) -> dict:
    return yaml.safe_load((seed_dir / "configuration.yaml").read_text(encoding="utf-8"))


def test_every_template_renders_a_number_or_the_mode_word(served: Served, seed_dir: Path):
    config = load(seed_dir)
    (rest,) = [s for s in config["sensor"] if s["platform"] == "rest"]
    assert rest["resource"].endswith(":8000/current_readings")  # the seed's port and route
    attributes_wanted = [*rest["json_attributes"], "system_summary"]  # docs/migrating.md
    r = served.get("/current_readings")
    assert r.status_code == 200
    value_json = r.json()

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["int"] = _int
    env.filters["round"] = _round
    state = env.from_string(rest["value_template"]).render(value_json=value_json).strip()
    assert state == "ok"
    states = {
        entity_id("sensor", rest["name"]): (
            state,
            {k: value_json[k] for k in attributes_wanted},
        )
    }
    env.globals["state_attr"] = lambda entity, attr: states[entity][1].get(attr)

    rendered = {}
    for sensor in config["template"][0]["sensor"]:
        rendered[sensor["name"]] = env.from_string(sensor["value_template"]).render().strip()
    assert len(rendered) == 6
    for name, text in rendered.items():
        if name == "System Mode":
            assert text in {m.value for m in SeedMode}, text
        else:
            float(text)  # a number, as the sensor's unit says
    assert float(rendered["Utility Meter Reading"]) == 1314.25
    assert 5.0 <= float(rendered["Battery Level"]) <= 100.0  # the gateway's scale


def test_the_automations_watch_sensors_the_templates_make(seed_dir: Path):
    config = load(seed_dir)
    made = {entity_id("sensor", s["name"]) for s in config["template"][0]["sensor"]}
    for auto in config["automation"]:
        assert auto["trigger"]["entity_id"] in made, auto["alias"]


def test_without_system_summary_the_system_mode_template_cannot_render(
    served: Served, seed_dir: Path
):
    """The one line docs/migrating.md adds: the seed's REST sensor keeps only the
    attributes it lists, and ``system_summary`` is not among them."""
    config = load(seed_dir)
    (rest,) = [s for s in config["sensor"] if s["platform"] == "rest"]
    assert "system_summary" not in rest["json_attributes"]
    value_json = served.get("/current_readings").json()
    kept = {k: value_json[k] for k in rest["json_attributes"]}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["state_attr"] = lambda entity, attr: kept.get(attr)
    (mode,) = [s for s in config["template"][0]["sensor"] if s["name"] == "System Mode"]
    with pytest.raises(jinja2.UndefinedError):
        env.from_string(mode["value_template"]).render()
    kept["system_summary"] = value_json["system_summary"]
    assert env.from_string(mode["value_template"]).render().strip() in {m.value for m in SeedMode}
