"""Figures in large type that grow with their box, for the kiosk across a room.

Textual's ``Digits`` is always three rows high, so in a kiosk tile of 15 rows most of the
tile was empty. :func:`render_big` draws a figure from a small bitmap font scaled by
whole factors to the largest size that fits the box: with half blocks (two pixels per
cell, top and bottom) on a terminal emulator, with full blocks on the Linux console,
whose font has no half blocks. When even the smallest font does not fit, the figure is
plain text, so a value is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from energytui.tui.widgets.sized import LineStatic


@dataclass(frozen=True)
class Font:
    height: int
    glyphs: dict[str, tuple[str, ...]]

    def width(self, ch: str) -> int:
        return len(self.glyphs[ch][0])


#: 5×7: the large size
FONT_5X7 = Font(
    7,
    {
        "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
        "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
        "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
        "3": ("####.", "....#", "....#", ".###.", "....#", "....#", "####."),
        "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
        "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
        "6": (".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."),
        "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
        "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
        "9": (".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."),
        ".": ("..", "..", "..", "..", "..", "##", "##"),
        "-": ("....", "....", "....", "####", "....", "....", "...."),
        "%": ("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"),
        ":": ("..", "##", "##", "..", "##", "##", ".."),
        " ": ("..", "..", "..", "..", "..", "..", ".."),
    },
)

#: 3×5: for small tiles
FONT_3X5 = Font(
    5,
    {
        "0": ("###", "#.#", "#.#", "#.#", "###"),
        "1": (".#.", "##.", ".#.", ".#.", "###"),
        "2": ("###", "..#", "###", "#..", "###"),
        "3": ("###", "..#", ".##", "..#", "###"),
        "4": ("#.#", "#.#", "###", "..#", "..#"),
        "5": ("###", "#..", "###", "..#", "###"),
        "6": ("###", "#..", "###", "#.#", "###"),
        "7": ("###", "..#", ".#.", ".#.", ".#."),
        "8": ("###", "#.#", "###", "#.#", "###"),
        "9": ("###", "#.#", "###", "..#", "###"),
        ".": (".", ".", ".", ".", "#"),
        "-": ("...", "...", "###", "...", "..."),
        "%": ("#.#", "..#", ".#.", "#..", "#.#"),
        ":": (".", "#", ".", "#", "."),
        " ": (".", ".", ".", ".", "."),
    },
)

FONTS = (FONT_5X7, FONT_3X5)


def _bitmap(text: str, font: Font) -> list[str]:
    """The text's pixel rows, one blank column between glyphs."""
    rows = []
    for y in range(font.height):
        rows.append(".".join(font.glyphs[ch][y] for ch in text))
    return rows


def fit(text: str, width: int, height: int, *, half_blocks: bool) -> tuple[Font, int, int] | None:
    """The font and whole scale factors (columns per pixel, pixel rows per pixel) of the
    largest rendering of ``text`` within ``width`` × ``height`` cells, or None.

    A pixel is at most three times as tall as it is wide in screen terms (a cell is
    about twice as tall as wide), so figures stay figures rather than bars."""
    sub = 2 if half_blocks else 1  # pixel rows per cell row
    best: tuple[int, Font, int, int] | None = None
    for font in FONTS:
        if any(ch not in font.glyphs for ch in text):
            continue
        w = len(_bitmap(text, font)[0])
        kx_max = width // w if w else 0
        for kx in range(kx_max, 0, -1):
            # pixel height in cell-widths: ky / sub * 2; keep it between kx and 3 kx
            ky_max = min((height * sub) // font.height, (3 * kx * sub) // 2)
            if ky_max < 1:
                continue
            area = (kx * w) * (ky_max * font.height)
            if best is None or area > best[0]:
                best = (area, font, kx, ky_max)
            break
    return None if best is None else best[1:]


def render_big(
    text: str, width: int, height: int, *, half_blocks: bool = True, style: Style | str = ""
) -> Text:
    """``text`` in the largest block letters that fit, centred; plain (centred too) when
    none fit."""
    if width <= 0 or height <= 0:
        return Text(text, style=style)
    chosen = fit(text, width, height, half_blocks=half_blocks)
    if chosen is None:  # plain, in the middle of the box as the block letters would be
        return Text("\n" * ((height - 1) // 2) + text.center(width)[:width], style=style)
    font, kx, ky = chosen
    bitmap = _bitmap(text, font)
    # scale vertically into pixel rows, then horizontally into cells
    rows = [row for row in bitmap for _ in range(ky)]
    if half_blocks:
        if len(rows) % 2:
            rows.append("." * len(rows[0]))
        lines = []
        for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
            cells = []
            for a, b in zip(top, bottom, strict=True):
                ch = {("#", "#"): "█", ("#", "."): "▀", (".", "#"): "▄"}.get((a, b), " ")
                cells.append(ch * kx)
            lines.append("".join(cells))
    else:
        lines = ["".join(("█" if p == "#" else " ") * kx for p in row) for row in rows]
    pad_top = max(0, (height - len(lines)) // 2)
    out = Text(style=style, no_wrap=True, overflow="crop")
    out.append("\n" * pad_top)
    out.append("\n".join(line.center(width).rstrip() for line in lines))
    return out


class BigText(LineStatic):
    """A figure in the largest block letters its box allows; redrawn when resized, and
    then only in the rows that changed (a kiosk's four power figures move every second)."""

    DEFAULT_CSS = """
    BigText { width: 1fr; height: 1fr; }
    """

    def __init__(self, value: str = "", *, half_blocks: bool = True, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.value = value
        self.half_blocks = half_blocks

    def show(self, value: str) -> None:
        if value != self.value:
            self.value = value
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        size = self.content_size
        self.show_text(
            render_big(self.value, size.width, size.height, half_blocks=self.half_blocks)
        )
