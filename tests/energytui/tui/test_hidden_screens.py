"""A screen hidden under another full screen does not draw (issue 15's cost goal): the
dashboard drew every second under the history screen, which hides it whole."""

from __future__ import annotations

from devkit.demo import demo_app
from energytui.tui.screens.dashboard import DashboardScreen
from energytui.tui.screens.help import HelpScreen
from energytui.tui.screens.history import HistoryScreen


async def test_the_dashboard_draws_only_while_it_can_be_seen(monkeypatch):
    drawn: list[str] = []
    real = DashboardScreen.draw

    def draw(self, view, old):
        drawn.append(type(self.app.screen).__name__)
        return real(self, view, old)

    monkeypatch.setattr(DashboardScreen, "draw", draw)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        assert drawn  # on top: it draws
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        drawn.clear()
        for _ in range(3):
            app.hub.clock.advance(1)
            app.refresh_view()
            await pilot.pause()
        assert drawn == []  # hidden whole under the history screen
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        drawn.clear()
        app.hub.clock.advance(1)
        app.refresh_view()
        await pilot.pause()
        assert drawn  # under a dialog that lets it show through: it still draws
