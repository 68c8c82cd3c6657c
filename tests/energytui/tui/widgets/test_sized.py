"""Charts skip a redraw only when nothing drawn changes, styles included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from energytui.tui.format import STALE
from energytui.tui.widgets.sized import signature
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
