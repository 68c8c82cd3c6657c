"""Screens over the hub: typed access to the app, the hub and the store, and drawing
from the hub's view.

A :class:`ViewScreen` draws from the app's ``view`` reactive (the hub's latest
:class:`~energytui.view.HubView`): :meth:`ViewScreen.draw` gets the new view and the one
the screen drew last, compares their parts (frozen dataclasses: equal when nothing
moved) and redraws only what changed. A failing draw goes to the log file and is tried
in full with the next view; it never ends the app (a kiosk has no one to restart it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from textual.screen import Screen

from energytui.view import HubView

if TYPE_CHECKING:
    from energytui.hub import Hub
    from energytui.store import Store
    from energytui.tui.app import EnergyApp

log = logging.getLogger(__name__)


class HubScreen(Screen[None]):
    """A screen of the energy app: ``app``, ``hub`` and ``store`` are typed."""

    if TYPE_CHECKING:
        # Textual types ``app`` as App[Any]; a HubScreen is only ever pushed by EnergyApp
        @property
        def app(self) -> EnergyApp: ...  # type: ignore[override]

    @property
    def hub(self) -> Hub:
        return self.app.hub

    @property
    def store(self) -> Store | None:
        """The hub's store; read it only through ``hub.query_store`` (its own thread)."""
        return self.hub.store


class ViewScreen(HubScreen):
    """A screen drawn from the hub's view; subclasses implement :meth:`draw`.

    ``draw`` runs on mount, for every new view while the screen is visible (on top, or
    under a modal dialog), and on resume with the latest view when it missed some."""

    def __init__(self) -> None:
        super().__init__()
        self._drawn: HubView | None = None
        self._watching = False

    def on_mount(self) -> None:
        # runs after the subclass's own on_mount (Textual calls each class's handler)
        self.watch(self.app, "view", self._view_changed, init=False)
        self._watching = True
        self.take_view(self.app.view)

    def on_screen_resume(self) -> None:
        if self._watching:
            self.take_view(self.app.view)

    def _view_changed(self, view: HubView | None) -> None:
        if self.visible_to_user:
            self.take_view(view)

    @property
    def visible_to_user(self) -> bool:
        """On top, or under screens that all let it show through (a modal dialog).

        Textual's ``is_current`` also counts the screen just under the top one whatever
        covers it, so the dashboard went on drawing every second under the history
        screen, which hides it whole: the history screen cost as much as both."""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        above = stack[stack.index(self) + 1 :]
        return all(screen.styles.background.a < 1 for screen in above)

    def take_view(self, view: HubView | None) -> None:
        """Draw ``view`` against the last one drawn."""
        if view is None or view is self._drawn:
            return
        try:
            self.draw(view, self._drawn)
        except Exception:
            log.exception("%s could not draw the hub's view", type(self).__name__)
            self._drawn = None  # the next view is drawn in full
            return
        self._drawn = view

    def draw(self, view: HubView, old: HubView | None) -> None:
        """Show ``view``; ``old`` is the view drawn last (None: draw everything)."""
        raise NotImplementedError
