"""Charts skip a redraw only when nothing drawn changes, styles included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from energytui.tui.format import STALE
from energytui.tui.widgets.sized import LineStatic, signature
from energytui.tui.widgets.trend import TrendPanel

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_a_change_of_colour_alone_is_a_change() -> None:
    # Rich's own equality says these are equal: a chart that only greys was not redrawn
    assert Text("ab", style="red") == Text("ab", style="blue")
    assert signature(Text("ab", style="red")) != signature(Text("ab", style="blue"))
    a, b = Text("ab"), Text("ab")
    a.stylize("red", 0, 1)
    b.stylize("blue", 0, 1)
    assert signature(a) != signature(b)
    assert signature(Text("ab", style="red")) == signature(Text("ab", style="red"))


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield TrendPanel(id="t")


async def test_the_same_chart_gone_stale_is_drawn_grey() -> None:
    series = {"solar": [(NOW - timedelta(seconds=30 * k), 2000.0) for k in range(20)]}
    app = _One()
    async with app.run_test(size=(60, 12)) as pilot:
        panel = app.query_one(TrendPanel)
        panel.show(series, NOW - timedelta(minutes=10), NOW, live=True)
        await pilot.pause()
        panel.show(series, NOW - timedelta(minutes=10), NOW, live=False)
        await pilot.pause()
        grey = tuple(int(STALE[i : i + 2], 16) for i in (1, 3, 5))
        colours = {
            seg.style.color.get_truecolor()[:3]
            for strip in panel.render_lines(Region(0, 0, *panel.size))
            for seg in strip
            if seg.text.strip() and seg.style is not None and seg.style.color is not None
        }
        assert colours == {grey}


class _Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield LineStatic(id="a")
        yield LineStatic(id="b")


def _shown(widget: LineStatic) -> list[tuple[str, tuple]]:
    """Each line as drawn on screen: its characters and their styles."""
    return [
        (strip.text, tuple(str(seg.style) for seg in strip))
        for strip in widget.render_lines(Region(0, 0, *widget.size))
    ]


async def test_a_new_text_redraws_only_the_lines_that_changed() -> None:
    """Once a second a figure or an arrowhead moves: the other lines keep their strips
    (Static.update turned every line into strips again and had each styled and composited
    again), and what is drawn is what a fresh widget draws for the new text."""
    first = Text("SOLAR 1.20 kW\n  ↓\nGRID  0.30 kW", style="bold")
    second = Text("SOLAR 1.25 kW\n  ↓\nGRID  0.30 kW", style="bold")
    second.stylize("yellow", 0, 5)
    app = _Lines()
    async with app.run_test(size=(30, 8)) as pilot:
        a, b = app.query_one("#a", LineStatic), app.query_one("#b", LineStatic)
        a.styles.height = b.styles.height = 3
        await pilot.pause()
        a.show_text(first)
        await pilot.pause()
        before = [a.render_line(y) for y in range(3)]
        a.show_text(second)
        await pilot.pause()
        after = [a.render_line(y) for y in range(3)]
        assert after[0] is not before[0] and after[1] is before[1] and after[2] is before[2]
        b.show_text(second)
        await pilot.pause()
        assert _shown(a) == _shown(b)
        assert _shown(a)[0][0].startswith("SOLAR 1.25 kW")


@pytest.mark.parametrize(
    ("kiosk", "console", "outage"),
    [(False, False, False), (True, True, False), (False, False, True)],
)
async def test_every_line_drawn_alone_is_the_strip_the_whole_text_gives(kiosk, console, outage):
    """A line drawn alone comes from Rich's segments, not Textual's Content: it must be
    the very strip (characters, colours, selection offsets) the whole text gives its row,
    on the dashboard and the kiosk, on the console's palette, and red in an outage."""
    from textual.visual import Visual

    from devkit.demo import demo_config, demo_hub
    from energytui.tui.app import EnergyApp

    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(kiosk=kiosk), hub, console=console)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        if outage:
            await pilot.press("o")
            await pilot.pause(0.5)
        checked = 0
        for w in app.screen.query(LineStatic):
            if w._lines is None:
                continue
            whole = Visual.to_strips(
                w, w._whole_content(), w.size.width, w.size.height, w.visual_style
            )
            for y in range(len(w._lines)):
                alone = [(seg.text, seg.style) for seg in w._line_strip(y)]
                assert alone == [(seg.text, seg.style) for seg in whole[y]], (w, y)
                checked += 1
        assert checked > 40
