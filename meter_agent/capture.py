"""Frame sources: where meter_agent's pictures come from.

Every source hands out BGR ``numpy`` frames through one small interface, so the
service, the lighting controller and the HTTP preview never care whether the
picture came from a USB camera, a folder of saved images, an ESP32-cam snapshot
URL or the synthetic meter used for demos. A failure is always a
:class:`CaptureError` whose text is one sentence a user can act on; sources try
to recover by themselves on the next ``grab`` (a camera that was unplugged is
reopened), because the agent runs unattended for months.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from meter_agent.config import CameraConfig, LightingConfig, OcrConfig

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

#: image names a file/folder source replays
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class CaptureError(Exception):
    """A frame could not be had; ``str()`` is one sentence naming what to fix."""


@dataclass
class SourceStatus:
    """What ``GET /health`` says about the camera."""

    kind: str
    description: str
    ok: bool | None = None  # None = not tried yet
    last_frame_at: datetime | None = None
    last_error: str | None = None
    frame_size: tuple[int, int] | None = None  # (width, height)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.kind,
            "description": self.description,
            "ok": self.ok,
            "last_frame_at": None if self.last_frame_at is None else _iso(self.last_frame_at),
            "last_error": self.last_error,
            "frame_size": None if self.frame_size is None else list(self.frame_size),
        }


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FrameSource(ABC):
    """A place frames come from. ``grab`` is blocking: call it from a worker thread."""

    kind: str = "source"

    def __init__(self, description: str) -> None:
        self.status = SourceStatus(kind=self.kind, description=description)
        self._lock = threading.Lock()

    def grab(self) -> np.ndarray:
        """One BGR frame (H×W×3 uint8), or :class:`CaptureError`."""
        with self._lock:
            try:
                frame = self._grab()
            except CaptureError as exc:
                self.status.ok = False
                self.status.last_error = str(exc)
                raise
            except Exception as exc:  # a driver or decoder surprise must not kill the agent
                msg = f"{self.kind} source failed unexpectedly: {exc}."
                self.status.ok = False
                self.status.last_error = msg
                raise CaptureError(msg) from exc
            frame = _as_bgr(frame)
            self.status.ok = True
            self.status.last_error = None
            self.status.last_frame_at = datetime.now(UTC)
            self.status.frame_size = (int(frame.shape[1]), int(frame.shape[0]))
            return frame

    def warm_up(self, n: int) -> None:
        """Throw away ``n`` frames (only cameras buffer stale ones)."""
        return None

    @abstractmethod
    def _grab(self) -> np.ndarray: ...

    def close(self) -> None:
        """Release the device or connection; the source may be grabbed from again later."""
        return None

    # --- lighting control: only real cameras have one ------------------------------------
    def light_control(self) -> LightControl | None:
        """The knob the lighting controller may turn, or None when the source has none."""
        return None


class LightControl(ABC):
    """A camera setting that makes the picture brighter when raised."""

    name: str = "control"

    @abstractmethod
    def get(self) -> float | None: ...

    @abstractmethod
    def set(self, value: float) -> None: ...


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        raise CaptureError("the source returned an empty frame.")
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise CaptureError(f"the source returned a frame of unusable shape {frame.shape}.")


def apply_flips(frame: np.ndarray, camera: CameraConfig) -> np.ndarray:
    """Mirror/flip a live frame as configured (a camera mounted upside down)."""
    if camera.flip_horizontal and camera.flip_vertical:
        return cv2.flip(frame, -1)
    if camera.flip_horizontal:
        return cv2.flip(frame, 1)
    if camera.flip_vertical:
        return cv2.flip(frame, 0)
    return frame


def decode_image(data: bytes, what: str) -> np.ndarray:
    """Decode JPEG/PNG bytes to BGR, or a :class:`CaptureError` naming ``what``."""
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if img is None:
        raise CaptureError(f"{what} is not a readable image.")
    return img


# ---------------------------------------------------------------------------------------
class CameraSource(FrameSource):
    """An OpenCV ``VideoCapture`` device (``/dev/video0`` = device 0, or a path/URL string).

    The device is opened lazily and reopened after a failed read, so a camera that
    is unplugged and plugged back in is picked up again without a restart.
    """

    kind = "camera"

    def __init__(self, camera: CameraConfig) -> None:
        super().__init__(f"camera device {camera.device}")
        self.camera = camera
        self._cap: Any = None

    def _open(self) -> Any:
        if self._cap is not None:
            return self._cap
        dev = self.camera.device
        if isinstance(dev, str) and dev.isdigit():
            dev = int(dev)
        cap = cv2.VideoCapture(dev)
        if not cap.isOpened():
            cap.release()
            raise CaptureError(
                f"camera device {self.camera.device} cannot be opened; check camera.device "
                "and that no other program is using it."
            )
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.camera.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.camera.height)
        cap.set(cv2.CAP_PROP_FPS, self.camera.fps)
        self._cap = cap
        return cap

    def _grab(self) -> np.ndarray:
        cap = self._open()
        ok, frame = cap.read()
        if not ok or frame is None:
            self._release()
            raise CaptureError(
                f"camera device {self.camera.device} returned no frame; it will be reopened "
                "on the next try."
            )
        return apply_flips(frame, self.camera)

    def warm_up(self, n: int) -> None:
        with self._lock:
            try:
                cap = self._open()
            except CaptureError:
                return  # grab() will report it
            for _ in range(n):
                cap.grab()

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        with self._lock:
            self._release()

    def light_control(self) -> LightControl | None:
        return _CameraProperty(self, cv2.CAP_PROP_BRIGHTNESS, "brightness")

    def property_control(self, control: str) -> LightControl:
        prop = cv2.CAP_PROP_EXPOSURE if control == "exposure" else cv2.CAP_PROP_BRIGHTNESS
        return _CameraProperty(self, prop, control)


class _CameraProperty(LightControl):
    def __init__(self, source: CameraSource, prop: int, name: str) -> None:
        self.source, self.prop, self.name = source, prop, name

    def get(self) -> float | None:
        with self.source._lock:
            cap = self.source._cap
            if cap is None:
                return None
            v = float(cap.get(self.prop))
        return v if v == v else None  # NaN → unknown

    def set(self, value: float) -> None:
        with self.source._lock:
            if self.source._cap is not None:
                self.source._cap.set(self.prop, float(value))


# ---------------------------------------------------------------------------------------
class FileSource(FrameSource):
    """One image file, or every image in a folder replayed in name order, looping.

    Saved frames are replayed as they are (no flips): they were flipped when taken.
    """

    kind = "file"

    def __init__(self, path: str | Path) -> None:
        # kept apart: Path("") is Path("."), and "." (this folder) is a real choice
        self._given = str(path).strip()
        self.path = Path(self._given).expanduser()
        super().__init__(f"images from {self.path}")
        self._index = 0

    def files(self) -> list[Path]:
        if not self._given:
            raise CaptureError("camera.path is empty; set it to an image file or a folder.")
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            found = sorted(
                p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise CaptureError(f"folder {self.path} holds no images (.jpg, .png, …).")
            return found
        raise CaptureError(f"camera.path {self.path} does not exist.")

    def _grab(self) -> np.ndarray:
        files = self.files()  # listed each time: images may be added while running
        path = files[self._index % len(files)]
        self._index = (self._index + 1) % len(files)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CaptureError(f"image {path} cannot be read: {exc.strerror or exc}.") from None
        return decode_image(data, f"file {path}")


# ---------------------------------------------------------------------------------------
class UrlSource(FrameSource):
    """An HTTP snapshot URL (ESP32-cam ``/capture`` style) that answers with a JPEG."""

    kind = "url"

    def __init__(self, camera: CameraConfig) -> None:
        super().__init__(f"snapshots from {camera.url}")
        self.camera = camera
        self._client: httpx.Client | None = None

    def _grab(self) -> np.ndarray:
        import httpx  # only snapshot cameras need it; the agent at rest is ~10 MB lighter

        url = self.camera.url
        if not url.startswith(("http://", "https://")):
            raise CaptureError("camera.url must be an http:// or https:// snapshot address.")
        if self._client is None:
            self._client = httpx.Client(timeout=self.camera.url_timeout_s, follow_redirects=True)
        try:
            resp = self._client.get(url)
        except httpx.TimeoutException:
            raise CaptureError(
                f"snapshot URL {url} did not answer within {self.camera.url_timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise CaptureError(f"snapshot URL {url} cannot be reached: {exc}.") from None
        if resp.status_code != 200:
            raise CaptureError(f"snapshot URL {url} answered HTTP {resp.status_code}.")
        return apply_flips(decode_image(resp.content, f"the answer of {url}"), self.camera)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


# ---------------------------------------------------------------------------------------
class SyntheticSource(FrameSource):
    """A generated meter (``meter_agent.synth``) whose reading creeps up like a real one.

    For demos and end-to-end tests without a camera. The meter's look, position and
    tilt come from ``seed`` and its kind from ``camera.synthetic_meter`` (never from the
    calibration, which a user changes while the meter stays the same);
    :meth:`calibration_hint` tells where its window is, so a demo can be calibrated
    without guessing. With ``creep`` the reading rises by one unit of the last digit per
    minute; :meth:`advance` moves it on by hand.
    """

    kind = "synthetic"

    def __init__(
        self,
        camera: CameraConfig,
        ocr: OcrConfig | None = None,
        *,
        seed: int = 7,
        start: int | None = None,
        creep: bool = True,
    ) -> None:
        super().__init__("synthetic meter")
        self.camera = camera
        self.ocr = ocr or OcrConfig()
        self.seed = seed
        n = self.ocr.expected_digits
        self.start = (int("31415926535"[:n]) if start is None else start) % 10**n
        self.offset = 0
        self.creep = creep
        self._t0 = time.monotonic()
        self._n = 0
        self.last_truth: dict[str, Any] | None = None

    def resume(self, digits: str | None) -> None:
        """Carry on from ``digits``, the last reading the agent kept before it stopped, if
        that is higher: a meter does not turn back while its agent is away, and a demo
        meter that started again from its first value had every reading refused as
        lower than the last one kept, for as long as the agent had run before."""
        n = self.ocr.expected_digits
        if digits is not None and digits.isdigit() and len(digits) == n:
            with self._lock:
                self.start = max(self.start, int(digits))

    def advance(self, units: int = 1) -> None:
        """Turn the meter on by ``units`` of its last digit."""
        with self._lock:
            self.offset += units

    def value(self) -> int:
        minutes = int((time.monotonic() - self._t0) // 60) if self.creep else 0
        return self.start + self.offset + minutes

    def digits(self) -> str:
        n = self.ocr.expected_digits
        return f"{self.value() % 10**n:0{n}d}"

    def _render(self, digits: str) -> Any:
        try:
            from meter_agent import synth
        except ImportError:
            raise CaptureError(
                "the synthetic source needs meter_agent.synth, which is not installed."
            ) from None
        kind: synth.Kind = self.camera.synthetic_meter
        self._n += 1
        return synth.render_frame(
            kind,
            digits,
            seed=self.seed,
            decimals=self.ocr.decimals,
            frame_size=(self.camera.width, self.camera.height),
            glare=False,
            nuisance_seed=self.seed * 7919 + self._n,
        )

    def calibration_hint(self) -> dict[str, Any]:
        """``roi`` and ``rotate_degrees`` that frame this synthetic meter's digits."""
        sf = self._render(self.digits())
        return {"roi": list(sf.roi), "rotate_degrees": float(sf.rotation)}

    def _grab(self) -> np.ndarray:
        sf = self._render(self.digits())
        self.last_truth = sf.truth()
        return sf.image


def open_source(
    camera: CameraConfig,
    *,
    ocr: OcrConfig | None = None,
) -> FrameSource:
    """The source ``camera.source`` names. Opening is lazy: errors surface on ``grab``."""
    if camera.source == "camera":
        return CameraSource(camera)
    if camera.source == "file":
        return FileSource(camera.path)
    if camera.source == "url":
        return UrlSource(camera)
    return SyntheticSource(camera, ocr)


def lighting_control_for(source: FrameSource, lighting: LightingConfig) -> LightControl | None:
    """The camera control the lighting config asks for, if this source has one."""
    if isinstance(source, CameraSource):
        return source.property_control(lighting.control)
    return source.light_control()
