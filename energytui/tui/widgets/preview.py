"""The camera picture at the best resolution the terminal allows, and the digit window
zoomed at its own resolution.

Why two renderers: a terminal that speaks a graphics protocol (Sixel: xterm, foot,
WezTerm, Konsole, tmux with sixel; the kitty graphics protocol: kitty) shows the camera's
real pixels, in which the digits can be read; every other terminal gets half blocks (two
pixels a cell, :class:`~energytui.tui.widgets.frame.FramePreview`), and the Linux console
full blocks. The graphics widgets are textual-image's, a maintained library, which asks the
terminal what it speaks; that question must be asked before Textual takes the terminal
over, so :func:`probe_terminal` runs while the app has handed the terminal back
(``EnergyApp._probe_graphics``, the first time the calibration screen opens) and, never
asked, the preview draws half blocks: tests and snapshots stay deterministic.

The zoomed view cuts the window out of the full camera frame turned by the calibration's
rotation (what the reader reads), so the digits show at the camera's resolution rather
than at the scale of the whole picture.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import cv2
import numpy as np
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widget import Widget

from energytui.tui.widgets.frame import FramePreview, draw_cells, draw_window

log = logging.getLogger(__name__)

#: the settings of ``tui.preview``
Renderer = Literal["auto", "sixel", "kitty", "halfblock"]

#: a graphics picture is redrawn once edits pause this long (see CameraPreview.set_frame)
GRAPHICS_SETTLE_S = 0.15

_probed: str | None = None  # what the terminal speaks, once :func:`probe_terminal` asked


def probe_terminal() -> str:
    """Ask the terminal which graphics it speaks ("sixel", "kitty" or "halfblock").

    Must run before Textual starts (textual-image reads the terminal's answer from stdin,
    which Textual then owns). Without textual-image, or off a terminal, "halfblock"."""
    global _probed
    if _probed is None:
        try:
            from textual_image import renderable
            from textual_image.renderable.sixel import Image as SixelRenderable
            from textual_image.renderable.tgp import Image as TGPRenderable
        except Exception as exc:  # not installed, or a terminal that answers nonsense
            log.info("no graphics preview: %s", exc)
            _probed = "halfblock"
        else:
            chosen = renderable.Image
            _probed = (
                "sixel"
                if chosen is SixelRenderable
                else "kitty"
                if chosen is TGPRenderable
                else "halfblock"
            )
    return _probed


def probed() -> bool:
    """Whether the terminal has been asked already."""
    return _probed is not None


def chosen_renderer(setting: str, *, console: bool) -> str:
    """The renderer to draw with: "blocks" on the Linux console, the setting when it
    names one, else what :func:`probe_terminal` found (half blocks when never asked)."""
    if console:
        return "blocks"
    if setting in ("sixel", "kitty", "halfblock"):
        return setting
    return _probed or "halfblock"


def window_crop(frame_rgb: np.ndarray, roi: list[int] | None, rotate_degrees: float) -> np.ndarray:
    """The window's pixels as the reader cuts them: the frame turned by
    ``rotate_degrees`` about its centre, then ``roi`` ([x, y, w, h]) cut out at the
    camera's own resolution (clipped to the frame)."""
    if not roi:
        return frame_rgb
    h, w = frame_rgb.shape[:2]
    img = frame_rgb
    if abs(rotate_degrees) > 1e-6:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rotate_degrees, 1.0)
        img = cv2.warpAffine(
            frame_rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    x, y, rw, rh = (int(v) for v in roi)
    x0, y0 = max(0, min(x, w - 1)), max(0, min(y, h - 1))
    x1, y1 = max(x0 + 1, min(x + rw, w)), max(y0 + 1, min(y + rh, h))
    return np.ascontiguousarray(img[y0:y1, x0:x1])


class CameraPreview(Widget):
    """One picture (RGB numpy), drawn with the renderer the screen chose.

    ``set_frame`` replaces the picture; the window and the digit cells, when given, are
    drawn on it first (in camera pixels). ``source_size`` is the picture's (w, h) in
    camera pixels: the resolution the renderer is given, whatever the terminal makes of it.
    """

    DEFAULT_CSS = """
    CameraPreview { width: 1fr; height: 1fr; }
    CameraPreview > .graphics { width: auto; height: auto; }
    """

    def __init__(self, *, renderer: str = "halfblock", message: str = "No frame yet.", **kw: Any):
        super().__init__(**kw)
        self.renderer = renderer
        self.message = message
        self.cells: list | None = None
        self.roi: list[int] | None = None
        self.source_size: tuple[int, int] | None = None
        self._image: Widget | None = None
        self._pending: tuple[np.ndarray | None, list[int] | None, list | None] | None = None
        self._timer: Timer | None = None
        self._drawn: tuple[np.ndarray | None, list[int] | None, list | None] | None = None

    @property
    def graphics(self) -> bool:
        return self.renderer in ("sixel", "kitty")

    def compose(self) -> ComposeResult:
        if self.graphics:
            self._image = _graphics_widget(self.renderer)
            self._image.add_class("graphics")
            yield self._image
        else:
            yield FramePreview(half_blocks=self.renderer != "blocks", classes="blocks")

    def set_frame(
        self,
        frame_rgb: np.ndarray | None,
        roi: list[int] | None = None,
        *,
        cells: list | None = None,
        message: str = "",
    ) -> None:
        self.roi, self.cells = roi, cells
        self.source_size = None if frame_rgb is None else (frame_rgb.shape[1], frame_rgb.shape[0])
        if not self.graphics:
            self.query_one(FramePreview).set_frame(frame_rgb, roi, message or self.message, cells)
            return
        # a graphics picture is encoded whole on the app's thread (Sixel: most of a second
        # for a large pane on a Pi), so a burst of edits (an arrow held down) is drawn once,
        # when it pauses, rather than once per key
        if self._same_as_drawn(frame_rgb, roi, cells):
            return  # a still meter: the same picture is not encoded again every second
        self._pending = (frame_rgb, roi, cells)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(GRAPHICS_SETTLE_S, self._draw_graphics)

    def _same_as_drawn(
        self, frame_rgb: np.ndarray | None, roi: list[int] | None, cells: list | None
    ) -> bool:
        """The picture drawn last, the same window and cells, and a frame that differs from
        it by camera noise only (a mean of under two grey levels, on every 8th pixel)."""
        if self._pending is not None or self._drawn is None or frame_rgb is None:
            return False
        old, old_roi, old_cells = self._drawn
        if old is None or old.shape != frame_rgb.shape or old_roi != roi or old_cells != cells:
            return False
        a = old[::8, ::8].astype(np.int16)
        b = frame_rgb[::8, ::8].astype(np.int16)
        return float(np.abs(a - b).mean()) < 2.0

    def _draw_graphics(self) -> None:
        self._timer = None
        if self._image is None or self._pending is None:
            return
        frame_rgb, roi, cells = self._pending
        self._pending = None
        self._drawn = (frame_rgb, roi, cells)
        if frame_rgb is None:
            self._image.image = None  # type: ignore[attr-defined]
            return
        from PIL import Image as PILImage

        h, w = frame_rgb.shape[:2]
        thickness = max(2, max(w, h) // 300)
        framed = draw_cells(draw_window(frame_rgb, roi, thickness), cells, max(1, thickness // 2))
        self._image.image = PILImage.fromarray(framed)  # type: ignore[attr-defined]


def _graphics_widget(renderer: str) -> Widget:
    """textual-image's widget for ``renderer`` (imported here: it asks the terminal about
    itself when imported, which :func:`probe_terminal` has done already)."""
    if renderer == "sixel":
        from textual_image.widget import SixelImage

        return SixelImage()
    from textual_image.widget import TGPImage

    return TGPImage()
