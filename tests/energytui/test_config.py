"""Config: TOML file, seed environment names, ENERGYTUI_* and flags; one-sentence errors."""

import subprocess
import sys

import pytest

from energytui.config import ConfigError, load_config


def test_defaults_run_the_simulated_site(tmp_path):
    cfg = load_config(environ={})
    assert not cfg.powerwall.configured
    assert cfg.general.timezone == "UTC"


def test_seed_environment_names_keep_working():
    env = {
        "POWERWALL_IP": "127.0.0.1:8443",
        "POWERWALL_PASSWORD": "s3cret",
        "METER_ENDPOINT": "http://127.0.0.1:5001",
        "TIMEZONE": "America/Los_Angeles",
        "LOG_LEVEL": "debug",
    }
    cfg = load_config(environ=env)
    assert cfg.powerwall.host == "127.0.0.1:8443"
    assert cfg.powerwall.password == "s3cret"
    assert cfg.meter.endpoint == "http://127.0.0.1:5001"
    assert cfg.general.timezone == "America/Los_Angeles"
    assert cfg.general.log_level == "DEBUG"
    assert "s3cret" not in repr(cfg)


def test_precedence_file_env_flags(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(
        '[powerwall]\nhost = "10.0.0.9"\npassword = "pw"\ninterval_s = 7\n[api]\nport = 9000\n'
    )
    cfg = load_config(
        p, environ={"ENERGYTUI_POWERWALL__HOST": "127.0.0.2"}, overrides={"api": {"port": 9100}}
    )
    assert cfg.powerwall.host == "127.0.0.2"
    assert cfg.powerwall.interval_s == 7
    assert cfg.api.port == 9100


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[powerwall\nhost=1", "not valid TOML"),
        ("[powerwall]\ninterval_s = 'often'\n", "powerwall.interval_s"),
        ("[powerwall]\ninterval_s = 0.1\n", "greater than or equal to 1"),
        ("[general]\ntimezone = 'Mars/Olympus'\n", "unknown time zone"),
        ("[nonsense]\nx = 1\n", "not a known setting"),
    ],
)
def test_bad_file_gets_one_sentence(tmp_path, text, needle):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(p, environ={})
    msg = str(exc.value)
    assert needle in msg
    assert "\n" not in msg and msg.endswith(".")


def test_password_never_echoed_in_errors(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[powerwall]\npassword = 12345\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p, environ={})
    assert "12345" not in str(exc.value)


def test_bad_env_value():
    with pytest.raises(ConfigError, match="environment: powerwall.timeout_s"):
        load_config(environ={"ENERGYTUI_POWERWALL__TIMEOUT_S": "-3"})
    with pytest.raises(ConfigError, match="ENERGYTUI_SECTION__KEY"):
        load_config(environ={"ENERGYTUI_HOST": "x"})


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_cli_bad_config_exits_2_with_one_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[tui]\nkiosk_cycle_s = -1\n")
    r = subprocess.run(
        [sys.executable, "-m", "energytui.cli", "--config", str(p)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("energytui: config file")
    assert "Traceback" not in r.stderr


def test_cli_bad_timezone_flag(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "energytui.cli", "--timezone", "Nowhere/Land"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "unknown time zone" in r.stderr and "Traceback" not in r.stderr
