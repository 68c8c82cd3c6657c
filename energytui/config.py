"""Configuration: a TOML file, environment variables and command-line flags.

Precedence, lowest to highest: built-in defaults, the TOML file (platformdirs
location or ``--config PATH``), environment variables (the seed's
``POWERWALL_IP``, ``POWERWALL_PASSWORD``, ``METER_ENDPOINT``, ``TIMEZONE``,
``LOG_LEVEL`` and ``ENERGYTUI_SECTION__KEY``), then flags. A bad value raises
:class:`ConfigError` whose text is one sentence naming what to fix; the CLI
prints it and exits with code 2.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from meter_agent import rules as meter_rules

APP_NAME = "energytui"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """A configuration problem, worded as one sentence for the user."""


class _Section(BaseModel):
    """Strict: a TOML file says what it means, so ``"5"`` is not a number, ``1`` is not a
    boolean, ``true`` is not 1, and no number is infinite or NaN (an infinite solar peak
    once turned every power into null while /health said healthy). Environment values are
    text and are converted (:func:`load_config` validates them in lax mode)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False
    )


class GeneralConfig(_Section):
    timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    data_dir: Path | None = Field(default=None, strict=False)  # TOML has no path type
    log_file: Path | None = Field(default=None, strict=False)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name like Europe/Berlin)"
            ) from exc
        return v


class PowerwallConfig(_Section):
    """How to reach the Powerwall; an empty host means "use the simulated site"."""

    host: str = ""
    password: str = Field(default="", repr=False)
    email: str = "energytui@localhost"
    mode: Literal["local", "tedapi", "cloud", "fleetapi"] = "local"
    gw_pwd: str = Field(default="", repr=False)
    cloud_site_id: str | None = None
    auth_path: Path | None = Field(default=None, strict=False)
    interval_s: float = Field(default=5.0, ge=1.0, le=3600.0)
    timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    slow_interval_s: float = Field(default=60.0, ge=5.0, le=86400.0)
    #: the battery's usable capacity, only to override what the gateway reports
    #: (``system_status.nominal_full_pack_energy``); None: the gateway's figure
    battery_kwh: float | None = Field(default=None, gt=0.0, le=1000.0)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        """An address pypowerwall can use: a scheme, a path or a bad port would only show
        up later as a gateway that never answers, so it is refused while loading."""
        v = v.strip()
        if not v:
            return v
        hint = "give an IP address or host name, optionally with :port, such as 192.168.1.50"
        if "://" in v or "/" in v or any(c.isspace() for c in v):
            raise ValueError(f"not a gateway address; {hint}")
        if v.count(":") > 1 or v.startswith("["):
            raise ValueError(
                "an IPv6 address, which pypowerwall cannot use; give the gateway's "
                "IPv4 address or host name"
            )
        name, _, port = v.partition(":")
        if not name or (":" in v and not (port.isdigit() and 1 <= int(port) <= 65535)):
            raise ValueError(f"not a gateway address; {hint}")
        return v

    @property
    def configured(self) -> bool:
        return bool(self.host) or self.mode in ("cloud", "fleetapi")


class SimulatedConfig(_Section):
    accelerate: float = Field(default=1.0, gt=0.0, le=100000.0)
    interval_s: float = Field(default=2.0, ge=0.05, le=3600.0)
    seed: int = 7
    solar_peak_w: float = Field(default=7600.0, ge=0.0, le=1e6)
    battery_kwh: float = Field(default=13.5, gt=0.0, le=1000.0)
    reserve_pct: float = Field(default=20.0, ge=0.0, le=100.0)


def agent_base_url(endpoint: str) -> str:
    """A meter_agent's base URL from ``meter.endpoint``, which may be either form users have.

    The seed's ``METER_ENDPOINT`` is the full URL it polled (``http://pi:5000/meter``);
    energytui's is the agent's base (``http://pi:5000``), to which ``/meter``,
    ``/calibration`` … are added. A final ``/meter`` is therefore dropped, so the full URL
    is polled as itself, never as ``…/meter/meter``.
    """
    base = endpoint.strip().rstrip("/")
    scheme_end = base.find("://")
    path_start = base.find("/", scheme_end + 3 if scheme_end >= 0 else 0)
    if path_start >= 0 and base.endswith("/meter"):
        base = base.removesuffix("/meter")
    return base


class MeterConfig(_Section):
    #: the agent's base URL, or the seed's full ``…/meter`` URL (kept as the base)
    endpoint: str = ""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        return agent_base_url(v)

    token: str = Field(default="", repr=False)
    interval_s: float = Field(default=30.0, ge=1.0, le=86400.0)
    timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    #: a reading (polled or posted) less sure than this is refused; the agent's default
    confidence_threshold: float = Field(default=meter_rules.CONFIDENCE_THRESHOLD, ge=0.0, le=1.0)
    #: a reading more than this many kWh per elapsed day above the last accepted one is
    #: refused as a misread; the seed's default
    max_daily_increase_kwh: float = Field(
        default=meter_rules.SEED_MAX_DAILY_INCREASE_KWH, gt=0.0, le=1e6
    )

    @property
    def limits(self) -> meter_rules.Limits:
        """The plausibility settings as the shared rules take them."""
        return meter_rules.Limits(self.confidence_threshold, self.max_daily_increase_kwh)


class StoreConfig(_Section):
    path: Path | None = Field(default=None, strict=False)
    raw_retention_days: int = Field(default=14, ge=1, le=3650)
    minute_retention_days: int = Field(default=90, ge=1, le=36500)


class ApiConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)  # the seed's port
    token: str = Field(default="", repr=False)
    cors_origins: list[str] = Field(default_factory=list)
    #: A meter reading pushed by an agent (no polled meter source) older than this is stale.
    meter_stale_s: float = Field(default=900.0, gt=0.0, le=604800.0)
    #: Client networks (CIDR, IPv4 or IPv6) that may write without the token: the seed's
    #: Pi posts readings with no token. Empty: every write needs api.token.
    trusted_networks: list[str] = Field(default_factory=list)

    @field_validator("trusted_networks")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for entry in v:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not a network (write it like 192.168.1.0/24 or fd00::/8)"
                ) from None
        return [entry.strip() for entry in v]

    @property
    def trusted(self) -> tuple[IPNetwork, ...]:
        """The trusted networks, parsed (host bits allowed: 192.168.1.7/24 is the /24)."""
        return tuple(ipaddress.ip_network(e, strict=False) for e in self.trusted_networks)


class MqttConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = ""
    password: str = Field(default="", repr=False)
    discovery_prefix: str = "homeassistant"
    base_topic: str = "energytui"
    #: Least seconds between two state publishes (availability changes go out at once).
    interval_s: float = Field(default=10.0, ge=0.0, le=3600.0)


class InfluxConfig(_Section):
    """InfluxDB 2.x writer (energytui/sinks/influx.py); on when ``url`` is set.

    The seed's ``INFLUXDB_URL``/``TOKEN``/``ORG``/``BUCKET`` map here, so the seed's
    compose ``.env`` turns it on without a config file.
    """

    url: str = ""
    token: str = Field(default="", repr=False)
    org: str = ""
    bucket: str = "energy"
    #: most points in one write request
    batch_size: int = Field(default=500, ge=1, le=50000)
    #: longest a point waits before it is sent while the database keeps up
    flush_interval_s: float = Field(default=10.0, ge=0.05, le=3600.0)
    #: points kept on disk while the database is down; past it the oldest are dropped
    spool_max_points: int = Field(default=100_000, ge=1, le=50_000_000)
    timeout_s: float = Field(default=10.0, gt=0.0, le=300.0)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        v = v.strip()
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (like http://influxdb:8086)")
        return v.rstrip("/")

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class TuiConfig(_Section):
    console: bool = False
    kiosk: bool = False
    kiosk_cycle_s: float = Field(default=20.0, ge=2.0, le=3600.0)
    spark_minutes: int = Field(default=10, ge=1, le=240)
    #: seconds between camera frames on the calibration screen; 0 = only on `f`
    preview_refresh_s: float = Field(default=1.0, ge=0.0, le=60.0)
    #: how the calibration screen draws the camera: "auto" (Sixel or the kitty graphics
    #: protocol when the terminal speaks one, else half blocks), or one of them by name
    preview: Literal["auto", "sixel", "kitty", "halfblock"] = "auto"
    #: ring the terminal bell when the event banner shows a new warning or alarm
    bell: bool = False


#: Day names a tariff rate takes, Monday first (``datetime.weekday()`` order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
#: Prices beyond this (per kWh, per day, in any currency) are a typo.
MAX_PRICE = 10_000.0


def _check_time(v: str) -> str:
    if not _HHMM.fullmatch(v):
        raise ValueError("must be a time of day written HH:MM, from 00:00 to 24:00")
    return v


class TariffRate(_Section):
    """One time-of-use period: its prices apply from ``start`` to ``end`` (local time; a
    period may wrap midnight) on ``days`` in ``months``. The first matching rate wins."""

    name: str = ""
    start: str = "00:00"
    end: str = "24:00"
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS))
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))
    import_price: float | None = Field(default=None, ge=-MAX_PRICE, le=MAX_PRICE)
    export_price: float | None = Field(default=None, ge=-MAX_PRICE, le=MAX_PRICE)

    _time_start = field_validator("start")(_check_time)
    _time_end = field_validator("end")(_check_time)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        out = []
        for day in v:
            d = day.strip().lower()[:3]
            if d not in WEEKDAYS or len(day.strip()) < 3:
                near = difflib.get_close_matches(day.strip().lower(), WEEKDAYS, n=1, cutoff=0.5)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(
                    f"{day!r} is not a day; use mon, tue, wed, thu, fri, sat, sun{hint}"
                )
            out.append(d)
        if not out:
            raise ValueError("must name at least one day")
        return out

    @field_validator("months")
    @classmethod
    def _months(cls, v: list[int]) -> list[int]:
        for m in v:
            if not 1 <= m <= 12:
                raise ValueError(f"{m!r} is not a month; use numbers 1 (January) to 12")
        if not v:
            raise ValueError("must name at least one month")
        return v

    @model_validator(mode="after")
    def _span(self) -> TariffRate:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}, so the rate never applies")
        if self.import_price is None and self.export_price is None:
            raise ValueError("a rate needs an import_price, an export_price or both")
        return self


class TariffConfig(_Section):
    """Prices for the cost lines: off (no cost shown) until ``import_price`` is set."""

    currency: str = "EUR"
    #: per kWh bought, outside every rate's period (and inside one without its own)
    import_price: float | None = Field(default=None, ge=-MAX_PRICE, le=MAX_PRICE)
    #: per kWh sold
    export_price: float = Field(default=0.0, ge=-MAX_PRICE, le=MAX_PRICE)
    #: fixed charge per day, whatever is used
    daily_charge: float = Field(default=0.0, ge=0.0, le=MAX_PRICE)
    rates: list[TariffRate] = Field(default_factory=list)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", v.strip()):
            raise ValueError("must be a three-letter currency code such as EUR, GBP or USD")
        return v.strip().upper()

    @model_validator(mode="after")
    def _base(self) -> TariffConfig:
        if self.import_price is None and (self.rates or self.daily_charge):
            raise ValueError(
                "import_price must be set too: it is the price outside the rates' periods"
            )
        return self

    @property
    def configured(self) -> bool:
        return self.import_price is not None


class Config(_Section):
    general: GeneralConfig = Field(default_factory=GeneralConfig)
    powerwall: PowerwallConfig = Field(default_factory=PowerwallConfig)
    simulated: SimulatedConfig = Field(default_factory=SimulatedConfig)
    meter: MeterConfig = Field(default_factory=MeterConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    influxdb: InfluxConfig = Field(default_factory=InfluxConfig)
    tui: TuiConfig = Field(default_factory=TuiConfig)
    tariff: TariffConfig = Field(default_factory=TariffConfig)

    # -- derived paths -------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.general.data_dir or Path(platformdirs.user_data_dir(APP_NAME))

    @property
    def store_path(self) -> Path:
        return self.store.path or (self.data_dir / "store")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.general.timezone)


#: The seed's environment names, kept working, mapped to (section, key).
LEGACY_ENV = {
    "POWERWALL_IP": ("powerwall", "host"),
    "POWERWALL_PASSWORD": ("powerwall", "password"),
    "METER_ENDPOINT": ("meter", "endpoint"),
    "TIMEZONE": ("general", "timezone"),
    "LOG_LEVEL": ("general", "log_level"),
    "INFLUXDB_URL": ("influxdb", "url"),
    "INFLUXDB_TOKEN": ("influxdb", "token"),
    "INFLUXDB_ORG": ("influxdb", "org"),
    "INFLUXDB_BUCKET": ("influxdb", "bucket"),
}
ENV_PREFIX = "ENERGYTUI_"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def _merge(base: dict, key: tuple[str, str], value: Any) -> None:
    section, name = key
    base.setdefault(section, {})[name] = value


def _env_overrides(environ: dict[str, str]) -> dict:
    out: dict = {}
    for env, key in LEGACY_ENV.items():
        if environ.get(env):
            _merge(out, key, environ[env])
    for env, value in environ.items():
        if not env.startswith(ENV_PREFIX) or env == ENV_PREFIX + "CONFIG":
            continue
        rest = env[len(ENV_PREFIX) :].lower()
        if "__" not in rest:
            raise ConfigError(
                f"environment variable {env} is not of the form ENERGYTUI_SECTION__KEY "
                "(for example ENERGYTUI_POWERWALL__HOST)."
            )
        section, name = rest.split("__", 1)
        if section not in Config.model_fields:
            near = difflib.get_close_matches(section, list(Config.model_fields), n=1)
            hint = f" (did you mean ENERGYTUI_{near[0].upper()}__…?)" if near else ""
            raise ConfigError(
                f"environment variable {env} names an unknown section {section!r}{hint}."
            )
        raw: Any = value
        if value.startswith("[") and value.endswith("]"):
            raw = [p.strip() for p in value[1:-1].split(",") if p.strip()]
        _merge(out, (section, name), raw)
    return out


def _deep_update(base: dict, extra: dict) -> dict:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
    return base


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The settings known where ``loc`` points: the sections, or one section's keys."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list of sections (tariff.rates[0])
            continue
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if getattr(annotation, "__origin__", None) is list:
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _unknown(loc: tuple[Any, ...]) -> str:
    """ "is not a known setting", with the nearest known name when one is close."""
    near = difflib.get_close_matches(str(loc[-1]), _known_keys(loc), n=1, cutoff=0.6)
    if not near:
        return "is not a known setting"
    where = _where((*loc[:-1], near[0]))
    return f"is not a known setting (did you mean {where}?)"


def _where(loc: tuple[Any, ...]) -> str:
    """``tariff.rates[2].start``: list items counted from 1, as a person counts the
    ``[[tariff.rates]]`` tables in the file."""
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _describe(exc: ValidationError, origin: str) -> str:
    err = exc.errors()[0]
    where = _where(tuple(err["loc"]))
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        msg = _unknown(tuple(err["loc"]))
    value = err.get("input")
    shown = "" if "password" in where or "token" in where or "pwd" in where else f" (got {value!r})"
    if err["type"] == "extra_forbidden" or isinstance(value, dict):
        shown = ""
    return f"{origin}: {where}: {msg[0].lower() + msg[1:]}{shown}."


def load_config(
    path: str | Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict | None = None,
) -> Config:
    """Build the configuration; raise :class:`ConfigError` with one sentence on any problem."""
    environ = dict(os.environ) if environ is None else environ
    explicit = path is not None or bool(environ.get(ENV_PREFIX + "CONFIG"))
    cfg_path = Path(path or environ.get(ENV_PREFIX + "CONFIG") or default_config_path())
    data: dict = {}
    if cfg_path.exists():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {cfg_path} is not valid TOML: {exc}.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {cfg_path} cannot be read: {exc}.") from None
    elif explicit:
        raise ConfigError(f"config file {cfg_path} does not exist.")
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, f"config file {cfg_path}")) from None
    # environment values are text: converted here ("8001" is a port), still finite
    merged = _deep_update(data, _env_overrides(environ))
    try:
        Config.model_validate(merged, strict=False)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "environment")) from None
    merged = _deep_update(merged, overrides or {})
    try:
        cfg = Config.model_validate(merged, strict=False)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "command line")) from None
    _check_complete(cfg)
    return cfg


def _check_complete(cfg: Config) -> None:
    """Settings that only make sense together, checked once every source is merged (a
    password may come from the environment for a host in the file), before anything
    touches the network: an empty password would otherwise cost a login attempt (the
    gateway locks the account after a few)."""
    pw = cfg.powerwall
    if pw.mode == "local" and pw.host and not pw.password and not pw.gw_pwd:
        raise ConfigError(
            f"powerwall.password is empty, so the Powerwall at {pw.host} cannot be logged "
            "in to; set powerwall.password (or POWERWALL_PASSWORD) to its customer password, "
            'or set powerwall.gw_pwd with mode = "tedapi".'
        )
