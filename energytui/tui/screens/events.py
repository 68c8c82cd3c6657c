"""The events screen: what happened, newest first, the unseen ones marked.

Opening it counts as seeing what it lists (the banner on the dashboard and the
kiosk goes away); events that arrive while it is open are marked new until ``a``.
The list is the hub's recent events (the last 200, kept in the store's event log
across restarts). Plain ASCII and box lines only: it draws on the Linux console.
"""

from __future__ import annotations

from datetime import tzinfo

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from energytui.events import Event, EventsView, Severity
from energytui.tui.screens.base import ViewScreen
from energytui.tui.widgets.keyfooter import KeyFooter
from energytui.view import HubView

SEVERITY_STYLE = {Severity.ALARM: "bold red", Severity.WARNING: "yellow", Severity.INFO: ""}


def event_row(event: Event, zone: tzinfo, *, new: bool) -> tuple[Text, Text, Text, Text]:
    """One row: new mark, local time, severity word, the sentence."""
    when = event.at.astimezone(zone).strftime("%a %d %b %H:%M")
    style = SEVERITY_STYLE[event.severity]
    return (
        Text("new" if new else "", style="bold"),
        Text(when),
        Text(event.severity.word, style=style),
        Text(event.text, style=style if event.severity is Severity.ALARM else ""),
    )


def event_table(events: EventsView, zone: tzinfo, opened_seen: int) -> Table:
    """The rows, newest first; a long sentence wraps in its column (never cut off)."""
    table = Table(box=None, pad_edge=False, show_edge=False, expand=True, padding=(0, 1))
    table.add_column("", width=3, no_wrap=True)
    table.add_column("When", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("What", ratio=1, overflow="fold")
    for e in events.recent:
        table.add_row(*event_row(e, zone, new=e.id > opened_seen))
    return table


def summary(events: EventsView) -> str:
    n = len(events.recent)
    unseen = len(events.unseen)
    if not n:
        return "No events yet: outages, the battery at its reserve and failing sources show here."
    return f"{n} recent event{'s' if n != 1 else ''}, newest first" + (
        f"; {unseen} new (a: mark seen)" if unseen else "."
    )


class EventsScreen(ViewScreen):
    """The event log, newest first (see module doc)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "acknowledge", "Mark seen"),
    ]

    DEFAULT_CSS = """
    EventsScreen #events-summary { height: auto; padding: 0 1; background: $boost; }
    EventsScreen #events-list { height: 1fr; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._rows: tuple[EventsView, int] | None = None
        #: the seen mark when the screen opened: later events are marked new
        self._opened_unseen = 0

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="events-summary")
        with VerticalScroll(id="events-list"):
            yield Static("", id="events-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Events"
        # opening the list is seeing it: the banner goes; rows stay marked new for now
        self._opened_unseen = self.app.view.events.seen_upto if self.app.view else 0
        self.hub.acknowledge_events()

    def action_acknowledge(self) -> None:
        self.hub.acknowledge_events()
        self._opened_unseen = self.hub.events.seen_upto
        self._rows = None
        self.app.refresh_view()

    def draw(self, view: HubView, old: HubView | None) -> None:
        events = view.events
        key = (events, self._opened_unseen)
        if key != self._rows:
            self._rows = key
            zone = self.app.config.zone
            self.query_one("#events-table", Static).update(
                event_table(events, zone, self._opened_unseen)
            )
            self.query_one("#events-summary", Static).update(
                summary(EventsView(events.recent, self._opened_unseen))
            )
        self.sub_title = self.app.subtitle_text(view)
