"""deploy/compose/ is the seed's stack with energytui in place of the Flask API: its YAML
and JSON agree with each other, with the seed's names and with what the InfluxDB writer
writes (energytui.wire.influx.SCHEMA)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from energytui.wire.influx import SCHEMA
from tests.conftest import REPO, SHARED

COMPOSE = REPO / "deploy" / "compose"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {k: str(v) for k, v in env.items()}
    return dict(item.split("=", 1) for item in env)


def host_ports(service: dict) -> set[int]:
    return {int(str(p).split(":")[0]) for p in service.get("ports", [])}


def mounts(service: dict) -> dict[str, str]:
    """Container path -> host path, for bind mounts of files in the compose dir."""
    out = {}
    for v in service.get("volumes", []):
        src, dst = v.split(":")[:2]
        if src.startswith("./"):
            out[dst] = src
    return out


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE / "docker-compose.yml")


@pytest.fixture(scope="module")
def seed_compose() -> dict:
    docs = sorted(SHARED.glob("seed/000_*.txt"))
    if not docs:
        pytest.skip(f"the seed's document is not in {SHARED / 'seed'}")
    text = docs[0].read_text(encoding="utf-8")
    m = re.search(r"### docker-compose\.yml\s+```yaml\n(.*?)```", text, re.S)
    assert m, "the seed's document has no docker-compose.yml block"
    return yaml.safe_load(m.group(1))


@pytest.fixture(scope="module")
def datasource() -> dict:
    files = sorted((COMPOSE / "grafana/provisioning/datasources").glob("*.yml"))
    assert len(files) == 1
    (ds,) = load_yaml(files[0])["datasources"]
    return ds


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads((COMPOSE / "grafana/dashboards/energy.json").read_text(encoding="utf-8"))


def test_the_seed_services_and_ports_with_energytui_in_place_of_the_api(compose, seed_compose):
    services = compose["services"]
    assert set(services) == {"energytui", "influxdb", "grafana", "mosquitto"}
    assert set(seed_compose["services"]) - {"api"} <= set(services)
    for name, seed in seed_compose["services"].items():
        ours = services["energytui" if name == "api" else name]
        assert host_ports(seed) <= host_ports(ours), name
    api = services["energytui"]
    assert "8000:8000" in api["ports"]
    # energytui's own default port is not the seed's: the compose file says 8000 itself
    cmd = api["command"]
    assert cmd[cmd.index("serve") :] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert api["build"]["dockerfile"] == "deploy/compose/Dockerfile"
    assert (COMPOSE / api["build"]["context"] / api["build"]["dockerfile"]).is_file()
    assert (COMPOSE / api["build"]["context"] / "pyproject.toml").is_file()


def test_energytui_reads_the_seed_api_env_names_and_they_are_all_mapped(compose, seed_compose):
    from energytui.config import LEGACY_ENV

    seed_env = env_of(seed_compose["services"]["api"])
    ours = env_of(compose["services"]["energytui"])
    assert set(seed_env) <= set(ours)
    for name in seed_env:  # each one means something to energytui
        assert name in LEGACY_ENV, name
    assert ours["INFLUXDB_URL"] == "http://influxdb:8086"
    # the seed kept the Powerwall password in the file; here it comes from .env
    assert ours["POWERWALL_PASSWORD"] == "${POWERWALL_PASSWORD}"


def _refs(value: str) -> set[str]:
    """${NAME} and ${NAME:-default} references without a default."""
    return {m.group(1) for m in re.finditer(r"\$\{([A-Z0-9_]+)\}", value)}


def test_every_variable_without_a_default_is_in_env_example_with_the_seed_names(compose):
    example = (COMPOSE / ".env.example").read_text(encoding="utf-8")
    defined = {
        line.split("=", 1)[0] for line in example.splitlines() if re.match(r"^[A-Z0-9_]+=", line)
    }
    text = (COMPOSE / "docker-compose.yml").read_text(encoding="utf-8")
    assert _refs(text) <= defined
    # the seed's .env keeps working: its names are the ones we read
    seed_env = {"INFLUXDB_PASSWORD", "INFLUXDB_TOKEN", "GRAFANA_ADMIN_PASSWORD", "TIMEZONE",
                "LOG_LEVEL"}  # fmt: skip
    assert seed_env <= defined


def test_influxdb_is_2x_and_set_up_with_the_org_bucket_and_token_energytui_uses(compose):
    influx = compose["services"]["influxdb"]
    assert influx["image"].startswith("influxdb:2."), "latest is InfluxDB 3 since 2026-05"
    env, api = env_of(influx), env_of(compose["services"]["energytui"])
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    assert env["DOCKER_INFLUXDB_INIT_ORG"] == api["INFLUXDB_ORG"]
    assert env["DOCKER_INFLUXDB_INIT_BUCKET"] == api["INFLUXDB_BUCKET"]
    assert env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"] == api["INFLUXDB_TOKEN"] == "${INFLUXDB_TOKEN}"
    assert compose["services"]["energytui"]["depends_on"]["influxdb"] == {
        "condition": "service_healthy"
    }
    assert influx["healthcheck"]["test"]


def test_grafana_provisioning_is_mounted_where_grafana_reads_it(compose, datasource):
    grafana = compose["services"]["grafana"]
    m = mounts(grafana)
    assert m["/etc/grafana/provisioning"] == "./grafana/provisioning"
    (provider,) = load_yaml(COMPOSE / "grafana/provisioning/dashboards/energytui.yml")["providers"]
    dash_dir = provider["options"]["path"]
    assert (COMPOSE / m[dash_dir] / "energy.json").is_file()
    # the datasource's ${VARS} are set in Grafana's environment, to the values energytui writes with
    env, api = env_of(grafana), env_of(compose["services"]["energytui"])
    assert datasource["type"] == "influxdb" and datasource["jsonData"]["version"] == "Flux"
    assert datasource["url"] == api["INFLUXDB_URL"]
    for where, var in (
        (datasource["jsonData"]["organization"], "INFLUXDB_ORG"),
        (datasource["jsonData"]["defaultBucket"], "INFLUXDB_BUCKET"),
        (datasource["secureJsonData"]["token"], "INFLUXDB_TOKEN"),
    ):
        assert where == "${" + var + "}"
        assert env[var] == api[var]


def test_mosquitto_config_is_mounted_and_listens_on_the_published_ports(compose):
    mq = compose["services"]["mosquitto"]
    conf = COMPOSE / mounts(mq)["/mosquitto/config/mosquitto.conf"]
    listeners = {int(x) for x in re.findall(r"^listener (\d+)", conf.read_text(), re.M)}
    assert listeners == host_ports(mq) == {1883, 9001}
    api = env_of(compose["services"]["energytui"])
    assert api["ENERGYTUI_MQTT__HOST"] == "mosquitto"


FIELD_RE = re.compile(r'r\._field == "([^"]+)"')
MEASUREMENT_RE = re.compile(r'r\._measurement == "([^"]+)"')


def test_every_panel_uses_the_datasource_and_queries_what_the_writer_writes(dashboard, datasource):
    uid = datasource["uid"]
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Power flow", "Battery", "Daily energy", "Utility meter"} <= titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    queried: set[tuple[str, str]] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
            flux = target["query"]
            assert flux.startswith("from(bucket: v.defaultBucket)"), panel["title"]
            assert "range(start: v.timeRangeStart, stop: v.timeRangeStop)" in flux
            (measurement,) = MEASUREMENT_RE.findall(flux)
            fields = FIELD_RE.findall(flux)
            assert measurement in SCHEMA, (panel["title"], measurement)
            assert fields, panel["title"]
            for field in fields:
                assert field in SCHEMA[measurement][1], (panel["title"], field)
                queried.add((measurement, field))
            # display names are given for fields the query returns, not for others
            for o in panel["fieldConfig"]["overrides"]:
                assert o["matcher"]["options"] in fields, (panel["title"], o)
    # the four flows, the battery, the daily counters and the meter are all shown
    for field in ("solar_w", "battery_w", "grid_w", "home_w", "battery_pct"):
        assert ("power", field) in queried
    assert ("meter", "reading_kwh") in queried
    assert any(f.endswith("_kwh") for m, f in queried if m == "power")
