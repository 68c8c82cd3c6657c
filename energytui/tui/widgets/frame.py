"""A camera frame drawn in the terminal with half blocks, and the digit window on it.

Each cell shows two pixels: the upper one as the foreground colour of "▀" and
the lower one as the background. That works over SSH and inside tmux; on the
Linux console (no ▀ in its fonts) each cell shows one pixel as a full block.
"""

from __future__ import annotations

import cv2
import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

WINDOW_COLOUR = (255, 215, 0)  # the window being edited: gold, visible on most meters
CELL_COLOUR = (0, 200, 255)  # the digit cells the agent found: light blue


def fit_frame(
    frame_rgb: np.ndarray, cols: int, rows: int, *, half_blocks: bool
) -> tuple[np.ndarray, float]:
    """Resize to fit ``cols``×``rows`` cells keeping the aspect; returns (pixels, scale)."""
    h, w = frame_rgb.shape[:2]
    px_rows = rows * (2 if half_blocks else 1)
    # terminal cells are about twice as tall as wide; half blocks make pixels square
    aspect = 1.0 if half_blocks else 0.5
    scale = min(cols / w, px_rows / (h * aspect))
    out_w = max(1, int(w * scale))
    out_h = max(1, int(h * scale * aspect))
    if half_blocks and out_h % 2:
        out_h += 1
    return cv2.resize(frame_rgb, (out_w, out_h), interpolation=cv2.INTER_AREA), scale


def draw_window(frame_rgb: np.ndarray, roi: list[int] | None, thickness: int) -> np.ndarray:
    if not roi:
        return frame_rgb
    x, y, w, h = roi
    out = frame_rgb.copy()
    cv2.rectangle(out, (x, y), (x + w, y + h), WINDOW_COLOUR, thickness)
    return out


def draw_cells(frame_rgb: np.ndarray, cells: list | None, thickness: int) -> np.ndarray:
    """The cells the agent cut, each four [x, y] corners in frame pixels."""
    if not cells:
        return frame_rgb
    out = frame_rgb.copy()
    for cell in cells:
        pts = np.round(np.asarray(cell, np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], isClosed=True, color=CELL_COLOUR, thickness=thickness)
    return out


class FramePreview(Widget):
    """Renders an RGB numpy frame; ``set_frame`` replaces it."""

    DEFAULT_CSS = "FramePreview { width: 1fr; height: 1fr; }"

    def __init__(self, *, half_blocks: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.half_blocks = half_blocks
        self._frame: np.ndarray | None = None
        self._roi: list[int] | None = None
        self._cells: list | None = None
        self._pixels: np.ndarray | None = None
        self._styles: dict[tuple, Style] = {}
        self.message = "No frame yet."

    def set_frame(
        self,
        frame_rgb: np.ndarray | None,
        roi: list[int] | None,
        message: str = "",
        cells: list | None = None,
    ) -> None:
        """``cells``: the digit cells the agent found, as corner lists in frame pixels."""
        self._frame = frame_rgb
        self._roi = roi
        self._cells = cells
        self.message = message
        self._rebuild()
        self.refresh()

    def on_resize(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        if self._frame is None or not self.size.width or not self.size.height:
            self._pixels = None
            return
        h, w = self._frame.shape[:2]
        thickness = max(2, int(max(w, h) / max(1, self.size.width) * 1.5))
        framed = draw_window(self._frame, self._roi, thickness)
        framed = draw_cells(framed, self._cells, max(1, thickness // 2))
        self._pixels, _ = fit_frame(
            framed, self.size.width, self.size.height, half_blocks=self.half_blocks
        )

    def _style(self, fg: tuple, bg: tuple | None) -> Style:
        key = (fg, bg)
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) > 20000:
                self._styles.clear()
            style = Style.from_color(
                color=_rich_colour(fg), bgcolor=None if bg is None else _rich_colour(bg)
            )
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        px = self._pixels
        if px is None:
            text = self.message if y == 0 else ""
            return Strip([Segment(text[:width].ljust(width))])
        segs: list[Segment] = []
        if self.half_blocks:
            top_row, bottom_row = 2 * y, 2 * y + 1
            if bottom_row >= px.shape[0]:
                return Strip([Segment(" " * width)])
            top, bottom = px[top_row], px[bottom_row]
            for x in range(px.shape[1]):
                segs.append(
                    Segment(
                        "▀",
                        self._style(
                            tuple(int(v) for v in top[x]), tuple(int(v) for v in bottom[x])
                        ),
                    )
                )
        else:
            if y >= px.shape[0]:
                return Strip([Segment(" " * width)])
            row = px[y]
            for x in range(px.shape[1]):
                segs.append(Segment("█", self._style(tuple(int(v) for v in row[x]), None)))
        pad = width - px.shape[1]
        if pad > 0:
            segs.append(Segment(" " * pad))
        return Strip(segs)


def _rich_colour(rgb: tuple):
    from rich.color import Color

    return Color.from_rgb(*rgb)


def decode_jpeg_rgb(data: bytes) -> np.ndarray:
    """Decode a JPEG to RGB; ValueError with one sentence when it is not an image."""
    arr = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(arr, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("the meter agent sent a frame that is not a readable image.")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
