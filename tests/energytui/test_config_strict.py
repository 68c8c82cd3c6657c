"""The config file means what it says: unknown keys named with the nearest known one, no
text taken as a number, no boolean as an integer, only finite numbers, and a Powerwall
host without a password refused before any network. The seed's environment names, whose
values are always text, keep being converted."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from energytui.config import ConfigError, load_config
from tests.support import REPO


def refused(tmp_path, text: str, environ: dict[str, str] | None = None) -> str:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(p, environ=environ or {})
    msg = str(exc.value)
    assert "\n" not in msg and msg.endswith("."), msg
    return msg


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '[powerwall]\npasword = "x"\n',
            "powerwall.pasword: is not a known setting (did you mean powerwall.password?)",
        ),
        ("[api]\nprot = 8001\n", "api.prot: is not a known setting (did you mean api.port?)"),
        ("[powerwal]\nhost = ''\n", "powerwal: is not a known setting (did you mean powerwall?)"),
        ("[simulated]\nsolar_peek_w = 10.0\n", "did you mean simulated.solar_peak_w?"),
        ("[api]\nzzz = 1\n", "api.zzz: is not a known setting."),
    ],
)
def test_an_unknown_key_is_named_with_the_nearest_known_one(tmp_path, text, needle):
    assert needle in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[api]\nport = "8001"\n', "api.port"),
        ("[api]\nport = true\n", "api.port"),
        ("[api]\nport = 8001.0\n", "api.port"),
        ("[api]\nenabled = 1\n", "api.enabled"),
        ('[api]\nenabled = "yes"\n', "api.enabled"),
        ('[powerwall]\ninterval_s = "5"\n', "powerwall.interval_s"),
        ("[powerwall]\ninterval_s = true\n", "powerwall.interval_s"),
        ("[store]\nraw_retention_days = 14.5\n", "store.raw_retention_days"),
        ("[tui]\nkiosk = 0\n", "tui.kiosk"),
    ],
)
def test_no_value_is_coerced_to_another_type(tmp_path, text, key):
    assert refused(tmp_path, text).startswith(f"config file {tmp_path / 'c.toml'}: {key}: ")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[simulated]\nsolar_peak_w = inf\n", "simulated.solar_peak_w"),
        ("[simulated]\nsolar_peak_w = nan\n", "simulated.solar_peak_w"),
        ("[simulated]\nsolar_peak_w = 1e300\n", "simulated.solar_peak_w"),
        ("[simulated]\nbattery_kwh = inf\n", "simulated.battery_kwh"),
        ("[simulated]\nbattery_kwh = 0\n", "simulated.battery_kwh"),
        ("[powerwall]\nbattery_kwh = -inf\n", "powerwall.battery_kwh"),
        ("[api]\nmeter_stale_s = nan\n", "api.meter_stale_s"),
        ("[meter]\nconfidence_threshold = nan\n", "meter.confidence_threshold"),
        ("[mqtt]\ninterval_s = inf\n", "mqtt.interval_s"),
    ],
)
def test_only_finite_numbers_in_range_are_taken(tmp_path, text, key):
    assert f": {key}: " in refused(tmp_path, text)


def test_whole_numbers_are_still_numbers_where_a_float_is_asked(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[simulated]\nsolar_peak_w = 5000\n[powerwall]\ninterval_s = 7\n")
    cfg = load_config(p, environ={})
    assert cfg.simulated.solar_peak_w == 5000.0 and cfg.powerwall.interval_s == 7.0


def test_environment_values_are_text_and_still_converted():
    cfg = load_config(
        environ={
            "ENERGYTUI_API__PORT": "8001",
            "ENERGYTUI_API__ENABLED": "false",
            "ENERGYTUI_SIMULATED__SOLAR_PEAK_W": "5000",
            "ENERGYTUI_GENERAL__DATA_DIR": "/tmp/energytui-x",
            "ENERGYTUI_API__TRUSTED_NETWORKS": "[192.168.1.0/24, fd00::/8]",
            "POWERWALL_IP": "10.0.0.9",
            "POWERWALL_PASSWORD": "12345",
            "LOG_LEVEL": "debug",
        }
    )
    assert cfg.api.port == 8001 and cfg.api.enabled is False
    assert cfg.simulated.solar_peak_w == 5000.0
    assert str(cfg.general.data_dir) == "/tmp/energytui-x"
    assert cfg.api.trusted_networks == ["192.168.1.0/24", "fd00::/8"]
    assert cfg.powerwall.password == "12345" and cfg.general.log_level == "DEBUG"


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300"])
def test_an_environment_number_must_be_finite_and_in_range(value):
    with pytest.raises(ConfigError, match=r"^environment: simulated\.solar_peak_w: "):
        load_config(environ={"ENERGYTUI_SIMULATED__SOLAR_PEAK_W": value})


def test_an_unknown_environment_section_is_named_with_the_nearest():
    with pytest.raises(ConfigError, match="did you mean ENERGYTUI_POWERWALL__"):
        load_config(environ={"ENERGYTUI_POWERWAL__HOST": "x"})
    with pytest.raises(ConfigError, match="did you mean powerwall.password"):
        load_config(environ={"ENERGYTUI_POWERWALL__PASWORD": "x"})


def test_a_powerwall_host_without_a_password_is_refused(tmp_path):
    msg = refused(tmp_path, '[powerwall]\nhost = "10.0.0.9"\n')
    assert msg.startswith("powerwall.password is empty") and "POWERWALL_PASSWORD" in msg
    # the seed's .env: a host without its password is refused the same way
    with pytest.raises(ConfigError, match="powerwall.password is empty"):
        load_config(environ={"POWERWALL_IP": "10.0.0.9"})
    # a password from the environment completes a host from the file
    p = tmp_path / "c.toml"
    p.write_text('[powerwall]\nhost = "10.0.0.9"\n')
    assert load_config(p, environ={"POWERWALL_PASSWORD": "s3cret"}).powerwall.password
    # TEDAPI logs in with the gateway's own password instead
    tedapi = '[powerwall]\nhost = "192.168.91.1"\nmode = "tedapi"\ngw_pwd = "ABCDEFGHIJ"\n'
    p.write_text(tedapi)
    assert load_config(p, environ={}).powerwall.mode == "tedapi"
    # no host: the simulated site, no password needed
    assert not load_config(environ={}).powerwall.configured


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energytui.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("command", [["serve"], []], ids=["serve", "tui"])
def test_an_empty_password_stops_the_start_before_any_network(tmp_path, command):
    # a "Powerwall" that counts who connects to it
    with socket.socket() as gateway:
        gateway.bind(("127.0.0.1", 0))
        gateway.listen(8)
        gateway.setblocking(False)
        host = f"127.0.0.1:{gateway.getsockname()[1]}"
        p = tmp_path / "c.toml"
        p.write_text(
            f'[general]\ndata_dir = "{tmp_path / "data"}"\n'
            f'[powerwall]\nhost = "{host}"\npassword = ""\n[api]\nport = 0\n'
        )
        r = run_cli("--config", str(p), *command)
        with pytest.raises(BlockingIOError):
            gateway.accept()  # nobody came
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("energytui: powerwall.password is empty")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("command", [["serve"], []], ids=["serve", "tui"])
def test_an_infinite_solar_peak_stops_the_start_with_one_sentence(tmp_path, command):
    p = tmp_path / "c.toml"
    p.write_text(f'[general]\ndata_dir = "{tmp_path / "data"}"\n[simulated]\nsolar_peak_w = inf\n')
    r = run_cli("--config", str(p), *command)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "simulated.solar_peak_w: input should be a finite number" in lines[0]
    assert "Traceback" not in r.stderr
