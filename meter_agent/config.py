"""meter_agent configuration: the seed's config.json, as written, plus keys of our own.

The seed's Pi ran ``meter_reader.py`` with a config.json that users keep; every key of it
means here what it meant there (:data:`SEED_KEYS` says which of our keys each one sets),
so the file is a valid config unchanged. A key that is neither the seed's nor ours is a
typo, and a typo silently ignored is a setting that silently does nothing: it is refused
with the nearest known key suggested. Values are strict (no "60" for 60, no NaN), and
every problem is reported in one sentence via :class:`AgentConfigError`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from meter_agent import rules
from meter_agent.schema import problem_words


class AgentConfigError(Exception):
    """A configuration problem, worded as one sentence."""


class _Section(BaseModel):
    # strict: a string is not coerced to a number; no NaN or infinity sneaks past a bound
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False
    )


class CameraConfig(_Section):
    device: int | str = 0
    width: int = Field(default=1280, ge=16, le=8192)
    height: int = Field(default=720, ge=16, le=8192)
    fps: float = Field(default=5.0, gt=0.0, le=120.0)
    flip_horizontal: bool = False
    flip_vertical: bool = False
    #: "camera" (OpenCV device), "file" (image file or folder, replayed), "url" (HTTP snapshot),
    #: or "synthetic" (a generated meter, for demos and tests)
    source: Literal["camera", "file", "url", "synthetic"] = "camera"
    path: str = ""
    url: str = ""
    #: frames read and thrown away before a burst (V4L2 keeps a few stale frames buffered)
    warmup_frames: int = Field(default=2, ge=0, le=30)
    #: pause between the frames of one burst, so they are not all the same instant
    burst_interval_s: float = Field(default=0.2, ge=0.0, le=10.0)
    #: time allowed for one snapshot request when ``source`` is "url"
    url_timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    #: the kind of meter the "synthetic" source draws (the names of ``calibration.display``
    #: and ``synth.Kind``). Its own key, not
    #: ``calibration.display``: a demo meter that changed kind when the display setting was
    #: saved stood somewhere else after a restart, outside the window calibrated for it
    synthetic_meter: Literal["lcd7", "drum"] = "lcd7"


class LightingConfig(_Section):
    enabled: bool = False
    brightness_target: float = Field(default=128.0, ge=0.0, le=255.0)
    #: which camera control is steered: OpenCV's CAP_PROP_BRIGHTNESS or CAP_PROP_EXPOSURE
    control: Literal["brightness", "exposure"] = "brightness"
    #: proportional gain: control change per grey level of error
    gain: float = Field(default=0.5, gt=0.0, le=100.0)
    #: largest change of the control in one step, so the picture never swings wildly
    max_step: float = Field(default=10.0, gt=0.0)
    #: no change while the measured grey is within this many levels of the target
    tolerance: float = Field(default=8.0, ge=0.0, le=128.0)
    control_min: float = 0.0
    control_max: float = 255.0


class OcrConfig(_Section):
    expected_digits: int = Field(default=6, ge=1, le=12)
    decimals: int = Field(default=0, ge=0, le=6)
    confidence_threshold: float = Field(default=rules.CONFIDENCE_THRESHOLD, ge=0.0, le=1.0)
    monotonic: bool = True
    max_increase_per_day: float = Field(default=200.0, gt=0.0)
    threshold: int = Field(default=0, ge=0, le=255)  # 0 = automatic (Otsu)
    burst_frames: int = Field(default=3, ge=1, le=20)
    interval_s: float = Field(default=60.0, ge=1.0, le=86400.0)
    engines: list[str] = Field(default_factory=lambda: ["cnn", "seven_segment", "tesseract"])
    #: another digit model file (from meter_agent/training, e.g. trained with your own
    #: meter's crops); relative to the config file; empty = the model shipped
    digit_model: str = ""


class StorageConfig(_Section):
    image_dir: str = "images"
    keep_days: float = Field(default=7.0, ge=0.0, le=3650.0)
    data_dir: str = "data"
    log_file: str = "meter_agent.log"
    #: which frames are kept as JPEG under image_dir: none, only rejected readings, or all
    save_images: Literal["none", "rejected", "all"] = "rejected"
    #: cap on image_dir's size; the oldest images go first once it is exceeded
    max_image_mb: float = Field(default=500.0, ge=0.0)
    #: how many readings (accepted + rejected) the agent's history keeps, in memory too
    #: (about 2 kB each: 10000 is a week at one reading a minute)
    history_max_records: int = Field(default=10000, ge=10, le=1_000_000)
    log_max_bytes: int = Field(default=1_000_000, ge=10_000)
    log_backups: int = Field(default=5, ge=0, le=100)


class UploadConfig(_Section):
    enabled: bool = False
    url: str = ""  # the hub's POST /meter_reading
    token: str = Field(default="", repr=False)
    interval_s: float = Field(default=30.0, ge=1.0, le=86400.0)
    timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    #: the seed's meter reader answered GET /meter on port 5000, and hubs are set up for it
    port: int = Field(default=5000, ge=0, le=65535)
    token: str = Field(default="", repr=False)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LoggingConfig(_Section):
    """The seed's ``logging`` section. Its ``log_file`` sets ``storage.log_file``."""

    #: the level when neither ``--log-level`` nor LOG_LEVEL is given; empty = INFO
    level: str = ""

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v and v.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}")
        return v.strip().upper()


class CalibrationConfig(_Section):
    roi: list[int] | None = None  # [x, y, w, h] in raw-frame pixels
    rotate_degrees: float = Field(default=0.0, ge=-180.0, le=180.0)
    display: Literal["lcd7", "drum", "auto"] = "auto"
    #: drums: the window's last digit is a drum that turns ("turning": read as its lower
    #: digit until the next is in place, as every drum is during a carry), or one known to
    #: stand on a digit ("settled": a crop of one whole digit, read like a higher drum). A
    #: window that leaves the meter's turning drum out stays "turning": its last drum
    #: still turns, in every carry, and near the end of one a settled reading would be
    #: the next digit too early
    last_digit: Literal["turning", "settled"] = "turning"

    @field_validator("roi")
    @classmethod
    def _roi(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if len(v) != 4 or v[2] <= 0 or v[3] <= 0 or v[0] < 0 or v[1] < 0:
            raise ValueError("roi must be [x, y, w, h] with x, y >= 0 and w, h > 0")
        return v


class AgentConfig(_Section):
    camera: CameraConfig = Field(default_factory=CameraConfig)
    lighting: LightingConfig = Field(default_factory=LightingConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    upload: UploadConfig = Field(default_factory=UploadConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    #: seed keys given beside the key of ours that wins over them, for a warning at start
    _overridden: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _seed_keys(cls, data: Any, handler: Any) -> AgentConfig:
        if not isinstance(data, dict):
            return handler(data)
        translated, overridden = translate_seed_keys(data)
        cfg = handler(translated)
        cfg._overridden = overridden
        return cfg

    @property
    def overridden_seed_keys(self) -> list[str]:
        """Seed keys this config ignores because our own key for the same thing is set too."""
        return list(self._overridden)


#: the seed's key (section, key) → the key of ours that holds the same setting. Where a
#: file has both, ours wins: it is the one added later, for energytui.
SEED_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("camera", "device_id"): ("camera", "device"),
    ("ocr", "monotonic_check"): ("ocr", "monotonic"),
    ("ocr", "max_daily_increase_kwh"): ("ocr", "max_increase_per_day"),
    ("upload", "api_endpoint"): ("upload", "url"),
    # the seed's reader captured, read and uploaded once per upload interval
    ("upload", "interval_seconds"): ("ocr", "interval_s"),
    ("upload", "timeout_seconds"): ("upload", "timeout_s"),
    ("storage", "image_path"): ("storage", "image_dir"),
    ("logging", "log_file"): ("storage", "log_file"),
}
#: seed keys read in :func:`translate_seed_keys` rather than renamed
SEED_ONLY_KEYS = (("lighting", "auto_adjust"),)


def translate_seed_keys(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config with the seed's keys moved to ours; and the seed keys ours overrode.

    Beyond the renames: ``storage.save_images`` true/false (the seed's boolean) is "all" /
    "none"; ``lighting.auto_adjust`` false keeps the picture unsteered (our ``enabled``
    steers it, as the seed did with both on); and a non-empty ``upload.api_endpoint``
    turns uploads on unless ``upload.enabled`` says otherwise (the seed uploaded whenever
    an endpoint was set).
    """
    out = {
        k: {sk: sv for sk, sv in v.items() if not _is_comment(sk)} if isinstance(v, dict) else v
        for k, v in data.items()
        if not _is_comment(k)
    }
    overridden: list[str] = []
    for (sec, key), (our_sec, our_key) in SEED_KEYS.items():
        section = out.get(sec)
        if not isinstance(section, dict) or key not in section:
            continue
        value = section.pop(key)
        target = out.setdefault(our_sec, {})
        if not isinstance(target, dict):
            continue  # the section itself is wrong; validation says so
        if (sec, key) == ("upload", "api_endpoint") and value:
            target.setdefault("enabled", True)
        if our_key in target:
            overridden.append(f"{sec}.{key}")
        else:
            target[our_key] = value
    lighting = out.get("lighting")
    if isinstance(lighting, dict) and "auto_adjust" in lighting:
        auto = lighting.pop("auto_adjust")
        if not isinstance(auto, bool):
            raise ValueError("lighting.auto_adjust must be true or false")
        # the seed steered the picture only with both on; steering is our ``enabled``
        enabled = lighting.get("enabled", True)
        lighting["enabled"] = enabled and auto if isinstance(enabled, bool) else enabled
    storage = out.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("save_images"), bool):
        storage["save_images"] = "all" if storage["save_images"] else "none"
    return out, overridden


def known_keys() -> dict[str, set[str]]:
    """Every key a config file may hold, ours and the seed's, by section."""
    keys = {
        name: set(info.annotation.model_fields)  # type: ignore[union-attr]
        for name, info in AgentConfig.model_fields.items()
    }
    for sec, key in (*SEED_KEYS, *SEED_ONLY_KEYS):
        keys.setdefault(sec, set()).add(key)
    return keys


def _is_comment(key: str) -> bool:
    """JSON has no comments: a key named "comment" or starting with "_" is one; not read."""
    return key == "comment" or key.startswith("_")


def find_unknown_key(data: dict[str, Any]) -> str | None:
    """One sentence naming the first key that is neither ours nor the seed's, or None."""
    keys = known_keys()
    for name, value in data.items():
        if _is_comment(name):
            continue
        if name not in keys:
            return _unknown("", name, keys)
        if isinstance(value, dict):
            for key in value:
                if not _is_comment(key) and key not in keys[name]:
                    return _unknown(f"{name}.", key, keys[name])
    return None


def _unknown(prefix: str, key: str, candidates: Iterable[str]) -> str:
    # compared without the section's name, which every candidate shares
    near = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    hint = f'did you mean "{prefix}{near[0]}"?' if near else "see docs/meter-agent.md for the keys."
    return f'"{prefix}{key}" is not a meter-agent setting; {hint}'


def describe_validation_error(
    exc: ValidationError, origin: str, data: dict[str, Any] | None = None
) -> str:
    """One sentence for the first error, naming the key as the file ``data`` spells it."""
    err = exc.errors()[0]
    # a union's branch ("camera.device.int") is pydantic's detail, not a key of the file
    loc = tuple(str(p) for p in err["loc"] if p not in ("int", "str"))
    if data is not None and len(loc) >= 2:
        loc = (*_key_in_file(data, (loc[0], loc[1])), *loc[2:])
    msg = problem_words(err)
    msg = msg[0].lower() + msg[1:]
    return f"{origin}: {'.'.join(loc)}: {msg}." if loc else f"{origin}: {msg}."


def _key_in_file(data: dict[str, Any], key: tuple[str, str]) -> tuple[str, str]:
    """The seed's key for our ``key`` when the file set it that way (a seed user sees the
    name in their file, not ours), else ``key``."""
    for seed_key, ours in SEED_KEYS.items():
        section = data.get(seed_key[0])
        if ours == key and isinstance(section, dict) and seed_key[1] in section:
            target = data.get(key[0])
            if not (isinstance(target, dict) and key[1] in target):
                return seed_key
    return key


def resolve_path(base: Path, value: str) -> Path:
    """A config path: absolute as given, relative ones against the config file's folder."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def load_agent_config(path: str | Path | None) -> AgentConfig:
    """Read config.json (or defaults when ``path`` is None); one-sentence errors."""
    if path is None:
        return AgentConfig()
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentConfigError(f"config file {p} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentConfigError(f"config file {p} cannot be read: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise AgentConfigError(f"config file {p} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise AgentConfigError(f"config file {p} must hold a JSON object.")
    unknown = find_unknown_key(data)
    if unknown:
        raise AgentConfigError(f"config file {p}: {unknown}")
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise AgentConfigError(describe_validation_error(exc, f"config file {p}", data)) from None


def save_agent_config(cfg: AgentConfig, path: str | Path) -> None:
    """Write atomically (temp + fsync + rename) and keep keys the model does not know."""
    from meter_agent.files import write_atomically

    p = Path(path)
    existing: dict = {}
    if p.exists():
        try:
            existing = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            existing = {}
    existing.update(cfg.model_dump(mode="json"))
    write_atomically(p, json.dumps(existing, indent=2).encode("utf-8"), mode=0o600)


def save_config_changes(path: str | Path, changes: dict[str, dict[str, Any]]) -> None:
    """Write ``changes`` (section → key → value, our keys) into the config file as its
    owner wrote it: their keys in their order, their comment keys, the seed's key where the
    file says a setting the seed's way, and only the keys that changed added or replaced.

    Why not the whole model: a config that says five things must not come back from a
    calibration saying eighty, every default frozen into the file (a later release's
    better default would then never reach it). Atomic (temp + fsync + rename), with the
    file's own permissions kept (0600 for a new file, which may hold a token)."""
    import os
    import stat

    from meter_agent.files import write_atomically

    p = Path(path)
    data: dict[str, Any] = {}
    text = ""
    mode = 0o600
    if p.exists():
        text = p.read_text(encoding="utf-8")
        mode = stat.S_IMODE(os.stat(p).st_mode)
        try:
            loaded = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise AgentConfigError(f"config file {p} is no longer valid JSON: {exc}.") from None
        if not isinstance(loaded, dict):
            raise AgentConfigError(f"config file {p} must hold a JSON object.")
        data = loaded
    seed_name = {ours: seed for seed, ours in SEED_KEYS.items()}
    for section, values in changes.items():
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise AgentConfigError(f"config file {p}: {section} must be a JSON object.")
        for key, value in values.items():
            seed = seed_name.get((section, key))
            if seed is not None and key not in target:
                holder = data.get(seed[0])
                if isinstance(holder, dict) and seed[1] in holder:
                    holder[seed[1]] = value  # the file says it the seed's way: keep that
                    continue
            target[key] = value
    out = json.dumps(data, indent=_indent_of(text), ensure_ascii=False)
    if not text or text.endswith("\n"):
        out += "\n"
    write_atomically(p, out.encode("utf-8"), mode=mode)


def _indent_of(text: str) -> int | str:
    """The indent the file's first indented line uses (two spaces when none is seen)."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return lead if "\t" in lead else len(lead)
    return 2


def changed_settings(
    before: BaseModel, after: BaseModel, section: str
) -> dict[str, dict[str, Any]]:
    """``{section: {key: value}}`` for the fields of ``after`` that differ from ``before``."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    diff = {k: v for k, v in new.items() if old.get(k) != v}
    return {section: diff} if diff else {}
