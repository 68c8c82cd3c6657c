"""The event banner: the most serious unseen event, in a colour block that stays.

A toast vanishes after a few seconds; an outage that began while nobody looked at
the screen must still be on it when someone does. The banner shows the most
serious unseen warning or alarm (:attr:`energytui.view.EventsView.top`) until it
is seen: acknowledged with ``a``, or by opening the events screen (``e``). In the
kiosk it is five rows of solid colour, readable across a room.

Optionally (``[tui] bell = true``) the terminal bell rings once for each new
event the banner shows. Text is plain ASCII: it draws on the Linux console too.
"""

from __future__ import annotations

from datetime import tzinfo
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from energytui.events import EventsView, Severity

_LEAD = {Severity.ALARM: "!! ", Severity.WARNING: "! "}
#: per app, the newest event the bell rang for: each screen the kiosk cycles to has a
#: banner of its own, and the bell must not ring again for the same event
_RUNG: WeakKeyDictionary[App, int] = WeakKeyDictionary()


def banner_text(events: EventsView, zone: tzinfo, *, kiosk: bool = False) -> str:
    """The banner's words ("" when there is nothing to show)."""
    top = events.top
    if top is None:
        return ""
    more = sum(1 for e in events.unseen if e.severity >= Severity.WARNING) - 1
    when = top.at.astimezone(zone).strftime("%H:%M")
    line = f"{_LEAD.get(top.severity, '')}{when}  {top.text}"
    tail = (f"{more} more unseen · " if more > 0 else "") + "a: acknowledge · e: events"
    return f"{line}\n{tail}" if kiosk else f"{line}  ({tail})"


class EventBanner(Static):
    """See the module doc; ``show`` takes each view's events (cheap when unchanged)."""

    DEFAULT_CSS = """
    EventBanner {
        display: none;
        height: auto;
        width: 100%;
        padding: 0 1;
        text-style: bold;
        color: $text;
        background: $warning-darken-2;
    }
    EventBanner.shown { display: block; }
    EventBanner.alarm { background: $error; }
    EventBanner.kiosk {
        height: 5;
        content-align: center middle;
        text-align: center;
    }
    """

    def __init__(self, *args, kiosk: bool = False, **kwargs) -> None:
        super().__init__("", *args, **kwargs)
        self.kiosk = kiosk
        self.set_class(kiosk, "kiosk")
        self._shown: tuple[EventsView, tzinfo] | None = None

    def show(self, events: EventsView, zone: tzinfo, *, bell: bool = False) -> None:
        if self._shown == (events, zone):
            return
        self._shown = (events, zone)
        top = events.top
        text = banner_text(events, zone, kiosk=self.kiosk)
        self.set_class(top is not None, "shown")
        self.set_class(top is not None and top.severity is Severity.ALARM, "alarm")
        self.update(Text(text))
        if top is not None and top.id > _RUNG.get(self.app, 0):
            _RUNG[self.app] = top.id
            if bell:
                self.app.bell()
