"""One colour per flow on every screen, readable on dark and light themes.

The dashboard drew the grid purple and the history screen red; a light theme put the
solar yellow on cream. Every screen now asks :func:`flow_colours` for the theme it is
drawn on. The dark set is the Grafana-like palette owners know from
Powerwall-Dashboard; the light set keeps each hue but dark enough for a pale background
(contrast of at least 3:1 on white, checked in the tests). Stale figures are one grey
(``format.STALE``) on both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowColours:
    solar: str
    home: str
    grid: str
    battery: str
    dim: str

    def of(self, flow: str) -> str:
        return str(getattr(self, flow))


DARK = FlowColours(
    solar="#f2c40f", home="#5794f2", grid="#b877d9", battery="#4caf50", dim="#808080"
)
LIGHT = FlowColours(
    solar="#8a6d00", home="#1f5fbf", grid="#7b3fa0", battery="#2e7d32", dim="#808080"
)


def flow_colours(dark: bool = True) -> FlowColours:
    """The palette for a dark or a light theme (Textual's ``Theme.dark``)."""
    return DARK if dark else LIGHT


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def lum(hex_colour: str) -> float:
        h = hex_colour.lstrip("#")
        chans = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
