"""A line plot on a grid of terminal cells, without a plotting library.

The history screen's charts used plotext, whose import alone costs about 9 MB of
memory (issue 15); what they need is small: a few coloured lines, a frame with
labelled ticks and an optional zero line. Lines are drawn in braille cells (2×4 dots
a cell, U+2800 plus a bit per dot), consecutive points joined with Bresenham lines in
dot space. On the Linux console, whose fonts lack braille, each cell is one dot (``•``).

A cell drawn into by several lines keeps the dots of all of them and takes the colour
of the line drawn last, as plotext did. Nothing here knows Rich or Textual: the result
is rows of ``(text, colour)`` runs, colour ``None`` for the terminal's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BRAILLE = 0x2800
#: the bit of each dot of a braille cell, by (column, row) inside the cell
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
CONSOLE_DOT = "•"
ZERO = "─"

Run = tuple[str, int | None]


@dataclass(frozen=True)
class Line:
    """Points to join, in data units; a step in x wider than ``gap`` breaks the line."""

    xs: Sequence[float]
    ys: Sequence[float]
    color: int
    gap: float | None = None


class Canvas:
    """Cells of dots: ``cols`` × ``rows`` cells, each 2×4 dots (braille) or 1×1."""

    def __init__(self, cols: int, rows: int, *, braille: bool = True) -> None:
        self.cols, self.rows, self.braille = cols, rows, braille
        self.dot_w, self.dot_h = (2, 4) if braille else (1, 1)
        self.masks = [[0] * cols for _ in range(rows)]
        self.colors: list[list[int | None]] = [[None] * cols for _ in range(rows)]
        self.under: list[list[Run | None]] = [[None] * cols for _ in range(rows)]

    @property
    def width(self) -> int:
        """Dots across."""
        return self.cols * self.dot_w

    @property
    def height(self) -> int:
        """Dots down."""
        return self.rows * self.dot_h

    def dot(self, x: int, y: int, color: int) -> None:
        """Set the dot at (x, y), from the top left; dots off the canvas are dropped."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return
        col, dx = divmod(x, self.dot_w)
        row, dy = divmod(y, self.dot_h)
        self.masks[row][col] |= _BITS[dx][dy] if self.braille else 1
        self.colors[row][col] = color

    def line(self, x0: int, y0: int, x1: int, y1: int, color: int) -> None:
        """Bresenham's line from (x0, y0) to (x1, y1), both ends included."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx = 1 if x0 < x1 else -1
        sy = 1 if y0 < y1 else -1
        err = dx + dy
        while True:
            self.dot(x0, y0, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def fill_row(self, row: int, char: str, color: int | None) -> None:
        """A character in every cell of ``row`` that no dot covers (the zero line)."""
        if 0 <= row < self.rows:
            self.under[row] = [(char, color)] * self.cols

    def cell(self, row: int, col: int) -> Run:
        mask = self.masks[row][col]
        if mask:
            char = chr(BRAILLE + mask) if self.braille else CONSOLE_DOT
            return char, self.colors[row][col]
        return self.under[row][col] or (" ", None)

    def row_runs(self, row: int) -> list[Run]:
        """The row as runs of one colour each."""
        runs: list[Run] = []
        for col in range(self.cols):
            char, color = self.cell(row, col)
            if runs and runs[-1][1] == color:
                runs[-1] = (runs[-1][0] + char, color)
            else:
                runs.append((char, color))
        return runs


@dataclass(frozen=True)
class Scale:
    """Data to dots: ``lo`` at dot 0 and ``hi`` at dot ``dots - 1`` (or reversed)."""

    lo: float
    hi: float
    dots: int
    flip: bool = False  # y: the top dot is ``hi``

    def __call__(self, v: float) -> int:
        span = self.hi - self.lo or 1.0
        f = (v - self.lo) / span
        if self.flip:
            f = 1.0 - f
        # far-off points are pulled in to a few canvases' width: a line towards them
        # keeps (almost) its slope and Bresenham stays short
        f = min(4.0, max(-3.0, f))
        return round(f * (self.dots - 1))


def plot(canvas: Canvas, lines: Sequence[Line], x: Scale, y: Scale) -> None:
    """Draw ``lines`` in order (the last on top), breaking each at its gaps and at
    values that are not numbers."""
    for ln in lines:
        prev: tuple[int, int] | None = None
        prev_x = 0.0
        for xv, yv in zip(ln.xs, ln.ys, strict=True):
            if not (math.isfinite(xv) and math.isfinite(yv)):
                prev = None
                continue
            pt = (x(xv), y(yv))
            if prev is not None and (ln.gap is None or xv - prev_x <= ln.gap):
                canvas.line(*prev, *pt, ln.color)
            else:
                canvas.dot(*pt, ln.color)
            prev, prev_x = pt, xv


def frame(
    canvas: Canvas,
    y_ticks: Sequence[tuple[float, str]],
    x_ticks: Sequence[tuple[float, str]],
    x: Scale,
    y: Scale,
) -> list[list[Run]]:
    """The canvas in a box, y tick labels on its left and x tick labels below it."""
    label_w = max((len(label) for _, label in y_ticks), default=0)
    by_row: dict[int, str] = {}
    for v, label in y_ticks:
        row = y(v) // canvas.dot_h
        if 0 <= row < canvas.rows:
            by_row.setdefault(row, label)
    out: list[list[Run]] = [[(" " * label_w + "┌" + "─" * canvas.cols + "┐", None)]]
    for row in range(canvas.rows):
        tick = by_row.get(row)
        left = (tick or "").rjust(label_w) + ("┤" if tick is not None else "│")
        out.append([(left, None), *canvas.row_runs(row), ("│", None)])
    bottom = ["─"] * canvas.cols
    under = [" "] * (canvas.cols + 2)
    end = -1
    for v, label in x_ticks:
        col = x(v) // canvas.dot_w
        if not 0 <= col < canvas.cols:
            continue
        bottom[col] = "┬"
        # centred under its tick, moved in to stay under the plot, never over another
        start = min(max(1, col + 1 - len(label) // 2), canvas.cols + 1 - len(label))
        if start <= end or start < 0:
            continue
        under[start : start + len(label)] = label
        end = start + len(label)
    out.append([(" " * label_w + "└" + "".join(bottom) + "┘", None)])
    out.append([(" " * label_w + "".join(under).rstrip(), None)])
    return out
