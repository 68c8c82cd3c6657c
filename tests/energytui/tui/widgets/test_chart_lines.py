"""Our own line renderer (widgets/lines.py), which replaced plotext (issue 15): braille
dots where the data puts them, gaps that break lines, nice y ticks, the empty text."""

from __future__ import annotations

from energytui.tui.widgets import lines
from energytui.tui.widgets.chart import GREY, Chart, ChartSpec, Series, nice_ticks
from energytui.tui.widgets.lines import Canvas, Line, Scale


def _dots(canvas: Canvas) -> set[tuple[int, int]]:
    """Every dot set on the canvas, as (x, y) in dot space, read back from the cells."""
    bits = {(c, r): b for c, col in enumerate(lines._BITS) for r, b in enumerate(col)}
    out = set()
    for row in range(canvas.rows):
        for col in range(canvas.cols):
            char, _ = canvas.cell(row, col)
            mask = ord(char) - lines.BRAILLE if char != " " else 0
            for (dx, dy), bit in bits.items():
                if mask & bit:
                    out.add((col * 2 + dx, row * 4 + dy))
    return out


def test_a_known_series_sets_the_expected_braille_dots():
    canvas = Canvas(4, 2)  # 8 × 8 dots
    x, y = Scale(0, 7, canvas.width), Scale(0, 7, canvas.height, flip=True)
    lines.plot(canvas, [Line((0.0, 7.0), (0.0, 7.0), 3)], x, y)
    # a diagonal from the bottom left to the top right: one dot per step
    assert _dots(canvas) == {(i, 7 - i) for i in range(8)}
    # the cell at the bottom left holds dots (0, 7) and (1, 6): bits 0x40 and 0x20
    assert canvas.cell(1, 0) == (chr(0x2800 + 0x40 + 0x20), 3)
    assert canvas.cell(0, 3) == (chr(0x2800 + 0x08 + 0x02), 3)  # (7, 0) and (6, 1)
    assert canvas.cell(0, 0) == (" ", None)


def test_a_flat_line_fills_a_dot_row_and_the_last_line_drawn_colours_the_cell():
    canvas = Canvas(3, 1)
    x, y = Scale(0, 5, canvas.width), Scale(0, 3, canvas.height, flip=True)
    lines.plot(canvas, [Line((0, 5), (3, 3), 2), Line((0, 1), (0, 0), 5)], x, y)
    # y 3 is the top dot row: bits 0x01 and 0x08 in every cell; y 0 is the bottom row
    assert canvas.cell(0, 1) == (chr(0x2800 + 0x09), 2)
    assert canvas.cell(0, 0) == (chr(0x2800 + 0x09 + 0x40 + 0x80), 5)


def test_a_gap_breaks_the_line_and_nan_too():
    canvas = Canvas(10, 1)  # 20 dots across
    x, y = Scale(0, 19, canvas.width), Scale(0, 3, canvas.height, flip=True)
    xs = (0.0, 2.0, 14.0, 16.0)
    lines.plot(canvas, [Line(xs, (0.0,) * 4, 1, gap=5.0)], x, y)
    bottom = {d[0] for d in _dots(canvas)}
    assert bottom == {0, 1, 2, 14, 15, 16}  # nothing drawn across the 12 wide gap
    canvas = Canvas(10, 1)
    lines.plot(canvas, [Line((0.0, 2.0, 4.0, 6.0), (0.0, float("nan"), 0.0, 0.0), 1)], x, y)
    assert {d[0] for d in _dots(canvas)} == {0, 4, 5, 6}
    canvas = Canvas(10, 1)
    lines.plot(canvas, [Line(xs, (0.0,) * 4, 1)], x, y)  # no gap: one line
    assert {d[0] for d in _dots(canvas)} == set(range(17))


def test_the_console_gets_one_dot_a_cell_without_braille():
    canvas = Canvas(5, 3, braille=False)
    x, y = Scale(0, 4, canvas.width), Scale(0, 2, canvas.height, flip=True)
    lines.plot(canvas, [Line((0, 4), (0, 2), 4)], x, y)
    grid = ["".join(canvas.cell(r, c)[0] for c in range(5)) for r in range(3)]
    assert grid == ["   ••", " ••  ", "•    "]  # Bresenham in cells, bottom left to top right


def _plain(spec: ChartSpec, width: int = 60, height: int = 12, console: bool = False) -> str:
    return Chart(console=console)._build(spec, width, height).plain


def test_y_ticks_are_nice_and_include_zero_with_a_zero_line():
    spec = ChartSpec(
        series=(Series("solar", (0.0, 50.0, 100.0), (1.3, 3.7, 2.2), 3),),
        x_lim=(0.0, 100.0),
        x_ticks=((0.0, "00:00"), (50.0, "12:00"), (100.0, "24:00")),
        zero_line=True,
    )
    rows = _plain(spec).splitlines()
    labels = [r.split("┤")[0].strip() for r in rows if "┤" in r]
    assert labels == ["4", "3", "2", "1", "0"]  # from 0, as the zero line asks
    assert rows[-1].split() == ["00:00", "12:00", "24:00"]
    assert all(len(r) <= 60 for r in rows)
    assert len(rows) == 12
    # without a zero line the scale starts near the data
    low = _plain(ChartSpec(series=spec.series, x_lim=spec.x_lim))
    assert [r.split("┤")[0].strip() for r in low.splitlines() if "┤" in r][-1] == "1"
    assert nice_ticks(-4.2, 6.1) == [-5.0, 0.0, 5.0, 10.0]


def test_the_zero_line_is_grey_under_the_data_and_the_unit_is_appended():
    spec = ChartSpec(
        series=(
            Series("grid", tuple(map(float, range(101))), tuple(i / 33 - 1 for i in range(101)), 5),
        ),
        x_lim=(0.0, 100.0),
        zero_line=True,
    )
    text = Chart()._build(spec, 40, 10)
    zero_row = next(r for r in text.plain.splitlines() if r.lstrip().startswith("0┤"))
    assert "─" in zero_row and any(0x2800 <= ord(c) <= 0x28FF for c in zero_row)
    assert f"color({GREY})" in {str(s.style) for s in text.spans}
    soe = ChartSpec(
        series=(Series("charge", (0.0, 100.0), (20.0, 80.0), 2),),
        x_lim=(0.0, 100.0),
        y_lim=(0.0, 100.0),
        y_unit=" %",
    )
    labels = [r.split("┤")[0].strip() for r in _plain(soe).splitlines() if "┤" in r]
    assert labels == ["100 %", "75 %", "50 %", "25 %", "0 %"]


def test_an_empty_spec_draws_its_empty_text():
    spec = ChartSpec(series=(Series("solar", (), (), 3),), x_lim=(0.0, 1.0), empty="Nothing.")
    chart = Chart()
    chart.show(spec)
    assert chart._draw(60, 12).plain == "Nothing."
    assert chart.builds == 0
