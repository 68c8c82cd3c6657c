"""The help page of the screen it was opened on: that screen's keys, the global keys,
what the signs mean, where the data comes from.

The key tables are built from the bindings active on that screen (the same ones the
footer ranks, hidden ones included), so a key a screen adds is listed without anyone
editing this page, and a key the footer drops at 80 columns is still found here.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown, Static

from energytui.tui.glyphs import console_words
from energytui.tui.widgets.keyfooter import KeyFooter, footer_entries

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


def help_text(screen: Screen) -> str:
    """The page's key lists for ``screen`` as plain text: its own keys (hidden ones
    too), then the global ones. The notes follow it on the page."""
    entries = footer_entries(screen, shown_only=False)
    own = [e for e in entries if not e.global_key]
    glob = [e for e in entries if e.global_key]
    title = TITLES.get(type(screen).__name__, type(screen).__name__.removesuffix("Screen"))
    width = max((len(e.keys.replace("/", " ")) for e in entries), default=3) + 2
    lines = [f"{title}: help", "", "This screen's keys"]
    if own:
        lines += [f"  {e.keys.replace('/', ' '):<{width}}{e.description or e.action}" for e in own]
    else:
        lines.append("  none of its own: the global keys below work here")
    if glob:
        lines += ["", "Global keys (every screen)"]
        lines += [f"  {e.keys.replace('/', ' '):<{width}}{e.description or e.action}" for e in glob]
    lines += ["", "escape, q or ? closes this page."]
    return "\n".join(lines)


def _styled(text: str) -> Text:
    """Headings bold, keys in the accent colour."""
    out = Text()
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append("\n")
        keys, gap, desc = line[2:].partition("  ")
        if line.startswith("  ") and gap:
            out.append("  ")
            out.append(keys, style="bold")
            out.append(gap + desc)
        else:
            out.append(line, style="" if line.startswith("  ") else "bold")
    return out


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
        keys = help_text(self.about) if self.about is not None else ""
        notes = NOTES
        if getattr(self.app, "console_mode", False):
            keys, notes = console_words(keys), console_words(notes)
        with VerticalScroll():
            yield Static(_styled(keys), id="help-keys")
            yield Markdown(notes, id="help-notes")
        yield KeyFooter()
