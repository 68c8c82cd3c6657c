"""Kiosk figures in block letters that grow with their tile."""

from __future__ import annotations

import pytest

from energytui.tui.widgets.bigtext import render_big


def _box(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return max(len(x) for x in lines), len(lines)


@pytest.mark.parametrize(("w", "h"), [(24, 6), (37, 14), (60, 24), (26, 8)])
@pytest.mark.parametrize("value", ["3.19", "10.25", "84", "-0.40", "100"])
def test_a_figure_fits_its_box(value: str, w: int, h: int) -> None:
    width, height = _box(render_big(value, w, h).plain)
    assert width <= w and height <= h


def test_a_bigger_tile_draws_bigger_figures() -> None:
    small = render_big("3.19", 26, 8).plain
    large = render_big("3.19", 60, 24).plain
    ink = lambda s: sum(ch != " " and ch != "\n" for ch in s)  # noqa: E731
    assert ink(large) > 2 * ink(small)
    # a kiosk tile of 15 rows is filled, not three rows in the middle (issue 15)
    assert len([row for row in render_big("3.19", 37, 14).plain.split("\n") if row.strip()]) >= 10


def test_the_console_gets_full_blocks_only() -> None:
    text = render_big("12.5%", 40, 10, half_blocks=False).plain
    assert set(text) <= {"█", " ", "\n"}
    assert "█" in text


def test_a_figure_too_wide_for_any_font_is_plain_text_never_cut() -> None:
    assert render_big("10.25", 8, 2).plain.strip() == "10.25"


def test_a_plain_figure_sits_in_the_middle_of_its_tile_as_block_letters_do() -> None:
    """Found in tmux: the kiosk at 80×24 on the console with an event banner, its top
    tiles four rows high, showed "0.7" on their first row over three empty ones."""
    lines = render_big("0.7", 24, 4, half_blocks=False).plain.split("\n")
    assert len(lines) <= 4 and lines[1].strip() == "0.7" and not lines[0].strip()
    assert render_big("0.7", 24, 1, half_blocks=False).plain.strip() == "0.7"
