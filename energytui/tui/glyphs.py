"""Glyph sets: full Unicode for terminal emulators, and a console set for the Linux
framebuffer console, whose fonts lack eighth blocks, half blocks and braille
(see research/textual.md): there we draw with box lines, full blocks and ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Glyphs:
    right: str
    left: str
    up: str
    down: str
    hline: str
    vline: str
    node: str
    full: str
    empty: str
    reserve: str
    sparks: bool  # whether Sparkline's eighth blocks can be shown


UNICODE = Glyphs("►", "◄", "▲", "▼", "─", "│", "●", "█", "░", "┃", True)
CONSOLE = Glyphs(">", "<", "^", "v", "─", "│", "+", "█", "░", "|", False)
