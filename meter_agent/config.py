"""meter_agent configuration: the seed's config.json plus a ``calibration`` object.

Unknown top-level keys from older seed files are ignored (so an old config keeps
working), but every known value is validated and a bad one is reported in one
sentence via :class:`AgentConfigError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class AgentConfigError(Exception):
    """A configuration problem, worded as one sentence."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


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
    confidence_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
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
    port: int = Field(default=5001, ge=0, le=65535)
    token: str = Field(default="", repr=False)


class CalibrationConfig(_Section):
    roi: list[int] | None = None  # [x, y, w, h] in raw-frame pixels
    rotate_degrees: float = Field(default=0.0, ge=-180.0, le=180.0)
    display: Literal["lcd7", "drum", "auto"] = "auto"

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
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)


def describe_validation_error(exc: ValidationError, origin: str) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{origin}: {where}: {msg[0].lower() + msg[1:]}."


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
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise AgentConfigError(describe_validation_error(exc, f"config file {p}")) from None


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
