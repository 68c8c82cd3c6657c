"""The help page of the screen it was opened on: that screen's keys, the global keys,
what the signs mean, where the data comes from.

The key tables are built from the bindings active on that screen (the same ones the
footer ranks, hidden ones included), so a key a screen adds is listed without anyone
editing this page, and a key the footer drops at 80 columns is still found here.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

from energytui.tui.widgets.keyfooter import FooterEntry, KeyFooter, footer_entries

NOTES = """\
## Signs (as the Tesla gateway reports them)
- **Grid**: positive = *importing* from the grid, negative = *exporting* to it.
- **Battery**: positive = *discharging* into the home, negative = *charging*.
- **Solar** is always >= 0 (production), **Home** >= 0 (consumption).

Every screen also says the direction in words, so you never have to remember this.

## Stale data
When a source stops answering, its values turn grey and are marked **STALE** with the
age of the last good reading and the cause in one sentence. Zeros are never shown as live data.

## Today
Energy today comes from the gateway's lifetime counters when it has them (they survive
restarts of this program), otherwise from integrating the power readings.
"""

#: what a screen's page is called (its class name otherwise)
TITLES = {
    "DashboardScreen": "Dashboard",
    "KioskScreen": "Kiosk",
    "DevicesScreen": "Devices",
    "MeterScreen": "Meter",
    "CalibrationScreen": "Meter calibration",
    "HistoryScreen": "History",
    "EventsScreen": "Events",
}


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(entries: list[FooterEntry]) -> str:
    rows = ["| key | does |", "|---|---|"]
    for e in entries:
        keys = " ".join(f"`{k}`" for k in e.keys.split("/")) if e.keys != "/" else "`/`"
        rows.append(f"| {_escape(keys)} | {_escape(e.description or e.action)} |")
    return "\n".join(rows)


def help_markdown(screen: Screen) -> str:
    """The page for ``screen``: its own keys, then the global ones, then the notes."""
    app = screen.app
    entries = footer_entries(screen, shown_only=False)
    own = [e for e in entries if not e.global_key]
    glob = [e for e in entries if e.global_key]
    title = TITLES.get(type(screen).__name__, type(screen).__name__.removesuffix("Screen"))
    parts = [f"# {title} — help"]
    if own:
        parts.append("## This screen's keys\n" + _table(own))
    else:
        parts.append("## This screen's keys\nNone of its own: the global keys below work here.")
    if glob:
        parts.append("## Global keys (every screen)\n" + _table(glob))
    parts.append(NOTES)
    parts.append("Press `escape`, `q` or `?` to close this page.")
    text = "\n\n".join(parts)
    if getattr(app, "console_mode", False):
        from energytui.tui.glyphs import console_words

        text = console_words(text)
    return text


class HelpScreen(ModalScreen[None]):
    """Help for the screen under it. On this page ``q`` closes it, as in a pager; the
    footer says so (it showed the screen's "q Quit" before)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark,f1", "dismiss", "Close", key_display="?"),
    ]
    KEY_PRIORITY = {"dismiss": 0}

    def __init__(self, about: Screen | None = None) -> None:
        super().__init__()
        self.about = about

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_markdown(self.about) if self.about is not None else "")
        yield KeyFooter()
