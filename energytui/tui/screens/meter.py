"""The meter screen: the latest accepted reading, consumption today and this
month from meter deltas, recent and rejected readings, and how the meter
compares with the Powerwall's grid import.

Every figure of the meter is shown with the meter's own decimals (the agent's
``ocr.decimals``: the digits after the point on the meter's face), never more: a meter
that shows whole kWh reads "314,159 kWh", not "314,159.00". Times carry seconds, so two
readings a minute apart never look like one reading twice.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, timedelta, tzinfo

from pydantic import ValidationError
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Header, Static

from energytui.agent_client import AgentClient, AgentError
from energytui.meter_stats import reconcile, today_and_month
from energytui.model import parse_iso
from energytui.tui.format import age
from energytui.tui.screens.base import ViewScreen
from energytui.tui.screens.dialogs import InputDialog
from energytui.tui.widgets.keyfooter import KeyFooter
from energytui.view import HubView
from meter_agent.schema import MeterReading

log = logging.getLogger(__name__)


class SetReadingDialog(InputDialog):
    """Ask for the meter's true reading, digit for digit as the meter shows it.

    For when the agent's checks are stuck: a replaced meter (lower than the last value),
    or a value that should never have been accepted. The agent validates the digits."""

    def __init__(self) -> None:
        super().__init__(
            "The meter's true reading, every digit as it shows them (e.g. 012345), "
            "then Enter. The agent's checks compare with it from then on.",
            name="reading",
            placeholder="digits",
            restrict=r"[0-9]*",
        )

    def parse(self, text: str) -> tuple[str | None, str | None]:
        if not text.isdigit():
            return None, "Enter the digits the meter shows (Escape cancels)."
        return text, None


class MeterScreen(ViewScreen):
    """See the module docstring. The accepted reading and its age follow the hub's view;
    the readings behind "Consumption" come from the store through the hub (on the
    store's thread, in a worker), loaded on opening, on ``r`` and when the hub accepts a
    new reading, not on every view."""

    # no `r` of its own: the app's `r` (poll now) polls the agent through the hub, and
    # every poll of the agent reloads the agent's lists here (see :meth:`draw`)
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "set_reading", "Set reading…", tooltip="Set the meter's true reading"),
    ]

    DEFAULT_CSS = """
    MeterScreen #meter-top { height: auto; }
    MeterScreen #meter-latest, MeterScreen #meter-usage { width: 1fr; border: round $primary; padding: 0 1; height: 6; }
    MeterScreen #meter-tables { height: 1fr; }
    MeterScreen DataTable { width: 1fr; height: 1fr; border: round $primary; }
    MeterScreen #meter-rejected { width: 1fr; height: 1fr; border: round $primary; padding: 0 1; }
    MeterScreen #meter-hub-rejected { height: auto; padding: 0 1; color: $error; display: none; }
    MeterScreen #meter-status { height: auto; padding: 0 1; color: $warning; }
    """

    def __init__(self, *, client: AgentClient | None = None) -> None:
        super().__init__()
        self._client = client
        self.rejected: list[dict] = []
        self.agent_error: str | None = None
        self.set_error: str | None = None  # why the last "set reading" failed
        # the agent's /health "references": the meter's digits it has learnt examples of
        self.learnt: dict | None = None
        #: (ts, kWh, confidence, method), oldest first: the store's last 35 days, or the
        #: hub's memory without a store
        self.readings: list[tuple] = []
        self.readings_loads = 0  # how many times the store was read (the tests count)
        #: digits after the point on the meter's face, from the agent's calibration;
        #: None until it answers (the readings' own digits tell it meanwhile)
        self.decimals: int | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="=" if self.app.console_mode else "≡")
        with Horizontal(id="meter-top"):
            yield Static("", id="meter-latest")
            yield Static("", id="meter-usage")
        with Horizontal(id="meter-tables"):
            yield DataTable(id="meter-recent", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="meter-rejected"):
                yield Static("", id="meter-rejected-list")
        yield Static("", id="meter-hub-rejected")
        yield Static("", id="meter-status")
        yield KeyFooter()

    @property
    def client(self) -> AgentClient | None:
        if self._client is None and self.app.config.meter.endpoint:
            self._client = AgentClient(
                self.app.config.meter.endpoint, token=self.app.config.meter.token
            )
        return self._client

    def on_mount(self) -> None:
        self.sub_title = "utility meter"
        self.query_one("#meter-latest").border_title = "Latest accepted reading"
        self.query_one("#meter-usage").border_title = "Consumption"
        recent = self.query_one("#meter-recent", DataTable)
        recent.border_title = "Recent readings"
        recent.add_columns("time", "kWh", "conf.", "method")
        self.query_one("#meter-rejected").border_title = "Rejected readings"
        self.load_rejected()

    async def on_unmount(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    def action_set_reading(self) -> None:
        if self.client is None:
            self.agent_error = (
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT)."
            )
            self._show_status()
            return

        def done(digits: str | None) -> None:
            if digits:
                self.send_reading(digits)

        self.app.push_screen(SetReadingDialog(), done)

    @work(exclusive=True, group="meter-set", exit_on_error=False)
    async def send_reading(self, digits: str) -> None:
        assert self.client is not None
        try:
            rec = await self.client.set_reading(digits)
        except AgentError as exc:
            self.set_error = f"The reading was not set: {exc}"
        else:
            self.set_error = None
            self.notify(f"The meter agent now takes {rec.get('digits', digits)} as the reading.")
            await self._take_set_reading(rec)
        self.load_rejected()

    async def _take_set_reading(self, rec: dict) -> None:
        """Show the reading just set at once, not at the hub's next poll of the agent: the
        hub polls its meter source now; a hub that only takes the agent's pushes is given
        the agent's record (the same id, so the push that follows is a duplicate)."""
        source = self.hub.meter_source
        if source is not None:
            self.hub.poll_now(source.name)
            return
        try:
            reading = MeterReading.model_validate(
                {k: rec.get(k) for k in ("reading_kwh", "timestamp", "confidence", "method")}
                | {"digits": rec.get("digits"), "id": rec.get("id")}
            )
        except ValidationError:
            return  # an agent that answers without the record: the next push brings it
        await self.hub.ingest_meter(reading)

    @work(exclusive=True, group="meter-rejected", exit_on_error=False)
    async def load_rejected(self) -> None:
        decimals_before = self.meter_decimals
        if self.client is None:
            self.agent_error = (
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT)."
            )
        else:
            try:
                rows = await self.client.readings(include_rejected=True, limit=200)
                self.rejected = [r for r in rows if not r.get("accepted", True)]
                decimals = (await self.client.calibration()).get("decimals")
                if isinstance(decimals, int) and 0 <= decimals <= 6:
                    self.decimals = decimals
                learnt = (await self.client.health()).get("references")
                self.learnt = learnt if isinstance(learnt, dict) else None
                self.agent_error = None
            except AgentError as exc:
                self.agent_error = str(exc)
        self._show_rejected()
        self._show_status()
        self._show_latest()
        if self.readings and self.meter_decimals != decimals_before:
            self._show_recent()  # figures drawn before the agent said its decimals
            self._show_usage()
        view = self.app.view
        if view is not None:
            self._show_hub_rejected(view)

    @work(exclusive=True, group="meter-readings", exit_on_error=False)
    async def load_readings(self) -> None:
        """The last 35 days of accepted readings from the store, through the hub; the
        hub's memory when there is no store or nothing in it."""
        now = self.hub.clock.now()
        rows: list[tuple] = []
        if self.store is not None:
            self.readings_loads += 1
            try:
                got = await self.hub.query_store(
                    "meter", now - timedelta(days=35), now, resolution="raw"
                )
                for rec in got or ():
                    rows.append(
                        (
                            parse_iso(rec["ts"]),
                            float(rec["reading_kwh"]),
                            rec.get("confidence"),
                            rec.get("method"),
                        )
                    )
            except Exception as exc:  # an unreadable store must not end the screen
                log.warning("could not read the meter readings from the store: %s", exc)
                rows = []
        if not rows:
            rows = _memory_readings(self.app.view)
        rows.sort(key=lambda r: r[0])
        self.readings = rows
        self._show_recent()
        self._show_usage()

    # -- drawing ---------------------------------------------------------------------
    def draw(self, view: HubView, old: HubView | None) -> None:
        self._show_latest(view)  # its age moves with every view
        if old is not None and _polls(view) != _polls(old):
            self.load_rejected()  # the hub polled the agent (on schedule, or `r`): so do we
        if old is None or view.meter.latest != old.meter.latest:
            if self.store is not None or old is None:
                self.load_readings()  # it draws the table and the consumption when done
            else:
                self.readings = _memory_readings(view)
                self._show_recent()
                self._show_usage(view)
        elif _usage_inputs(view, self.app.config.zone) != _usage_inputs(old, self.app.config.zone):
            self._show_usage(view)
        if old is None or view.meter.rejected != old.meter.rejected:
            self._show_hub_rejected(view)

    def _show_latest(self, view: HubView | None = None) -> None:
        view = view or self.app.view
        if view is None:
            return
        meter = view.meter
        latest = meter.latest
        box = Text()
        if latest is None:
            box.append("No accepted reading yet.", style="grey50")
        else:
            box.append(f"{self.kwh(latest.reading_kwh)} kWh\n", style="bold")
            sep = self.sep
            box.append(f"{age((view.now - latest.timestamp).total_seconds())}{sep}")
            box.append(f"confidence {latest.confidence:.0%}{sep}{latest.method}\n")
            if self.learnt is not None:
                digits = str(self.learnt.get("digits") or "") or "none yet"
                box.append(f"digits learnt by the agent: {digits}\n", style="grey50")
            refused = meter.refused
            if refused is not None:
                box.append(
                    f"The agent now reads {self.kwh(refused.reading_kwh)} kWh, lower than this, "
                    "and is refused: if the meter was replaced or the agent started over, "
                    "set the reading (s).\n",
                    style="bold yellow",
                )
            status = view.meter_status
            if status is not None and not meter.live:
                box.append("STALE", style="bold red")
                if status.last_error:
                    box.append(f"{self.sep}{status.last_error}", style="red")
        self.query_one("#meter-latest", Static).update(box)

    def _show_hub_rejected(self, view: HubView) -> None:
        """One line for the latest reading the hub's own checks refused: the agent's table
        beside shows only what the agent refused, and a reading the hub refused (the seed's
        Pi sends whatever it reads) would otherwise just leave an older reading shown."""
        line = self.query_one("#meter-hub-rejected", Static)
        line.display = view.meter.rejected is not None
        line.update(hub_rejected_line(view, self.app.config.zone, self.meter_decimals))

    def _show_usage(self, view: HubView | None = None) -> None:
        view = view or self.app.view
        if view is None:
            return
        day, grid_import = _usage_inputs(view, self.app.config.zone)
        readings = [(r[0], r[1], r[3]) for r in self.readings]
        today, month = today_and_month(readings, view.now, self.app.config.zone)
        usage = Text()
        usage.append("today      ")
        usage.append(self.none if today.kwh is None else f"{self.kwh(today.kwh)} kWh", style="bold")
        usage.append("\nthis month ")
        usage.append(self.none if month.kwh is None else f"{self.kwh(month.kwh)} kWh", style="bold")
        usage.append(
            "\n" + reconcile(today.kwh, grid_import, decimals=self.meter_decimals), style="grey70"
        )
        self.query_one("#meter-usage", Static).update(usage)

    def _show_recent(self) -> None:
        zone = self.app.config.zone
        recent = self.query_one("#meter-recent", DataTable)
        recent.clear()
        for ts, kwh, conf, method in reversed(self.readings[-100:]):
            recent.add_row(
                ts.astimezone(zone).strftime(TIME_FORMAT),
                self.kwh(kwh),
                self.none if conf is None else f"{float(conf):.0%}",
                method or self.none,
            )

    def _show_rejected(self) -> None:
        """The agent's refusals, newest first; each reason wraps within the box's width
        (a table cell would cut it at the column's edge)."""
        zone = self.app.config.zone
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column("time", no_wrap=True)
        table.add_column("digits", no_wrap=True, style="bold")
        table.add_column("reason", ratio=1, overflow="fold")
        table.add_row(
            Text("time", style="grey70"),
            Text("digits", style="grey70"),
            Text("reason", style="grey70"),
        )
        for r in reversed(self.rejected[-100:]):
            ts = r.get("timestamp") or r.get("ts")
            when = parse_iso(ts).astimezone(zone).strftime(TIME_FORMAT) if ts else self.none
            table.add_row(when, r.get("digits") or self.none, r.get("reason") or self.none)
        if not self.rejected:
            table.add_row(Text("none", style="grey50"), "", "")
        self.query_one("#meter-rejected-list", Static).update(table)

    # -- the meter's figures --------------------------------------------------------
    @property
    def none(self) -> str:
        """What an empty cell shows: a dash the Linux console's font has."""
        return "-" if self.app.console_mode else "—"

    @property
    def sep(self) -> str:
        return " | " if self.app.console_mode else " · "

    @property
    def meter_decimals(self) -> int | None:
        """The meter's decimals: the agent's, else what the latest reading's digits
        say (31415.9 read from "314159": one), else None (not known)."""
        if self.decimals is not None:
            return self.decimals
        view = self.app.view
        latest = view.meter.latest if view is not None else None
        if latest is not None and (d := decimals_of(latest.digits, latest.reading_kwh)) is not None:
            return d
        values = [r[1] for r in self.readings[-100:]]
        if latest is not None:
            values.append(latest.reading_kwh)
        return needed_decimals(values) if values else None

    def kwh(self, value: float) -> str:
        """A meter figure with the meter's own decimals (see :func:`meter_kwh`)."""
        return meter_kwh(value, self.meter_decimals)

    def _show_status(self) -> None:
        self.query_one("#meter-status", Static).update(self.agent_error or self.set_error or "")


#: the times of readings: with seconds, as two readings within a minute are two readings
TIME_FORMAT = "%d %b %H:%M:%S"


def meter_kwh(value: float, decimals: int | None) -> str:
    """``value`` with ``decimals`` after the point and thousands separators; with the
    decimals not known, as many as the value needs (at most three)."""
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text or "0"


def needed_decimals(values: list[float]) -> int:
    """The fewest decimals (at most three) that show every one of ``values`` as it is: one
    figure per column for readings whose meter did not say its own."""
    most = 0
    for value in values:
        _, _, frac = f"{value:.3f}".rstrip("0").partition(".")
        most = max(most, len(frac))
    return most


def decimals_of(digits: str | None, reading_kwh: float) -> int | None:
    """How many of ``digits`` stand after the point for ``reading_kwh`` to be their value
    ("314159" read as 31415.9: one); None when the digits do not say."""
    if not digits or not digits.isdigit():
        return None
    whole = int(digits)
    for decimals in range(0, 7):
        if abs(whole / 10**decimals - reading_kwh) < 1e-6:
            return decimals
    return None


def _polls(view: HubView) -> int | None:
    """How many times the hub has polled the meter agent (None: it does not poll one)."""
    status = view.meter_status
    return None if status is None else status.polls


def hub_rejected_line(view: HubView, zone: tzinfo, decimals: int | None = None) -> str:
    """Which reading the hub refused last, and why, in one line ("" before any)."""
    rejected = view.meter.rejected
    if rejected is None:
        return ""
    read_at = rejected.reading.timestamp.astimezone(zone).strftime(TIME_FORMAT)
    reason = rejected.reason[:1].lower() + rejected.reason[1:]
    return (
        f"The hub refused {meter_kwh(rejected.reading.reading_kwh, decimals)} kWh "
        f"(read {read_at}, confidence {rejected.reading.confidence:.0%}): {reason}."
    )


def _memory_readings(view: HubView | None) -> list[tuple]:
    """(ts, kWh, confidence, method) of the readings the hub keeps in memory."""
    if view is None:
        return []
    return [(r.timestamp, r.reading_kwh, r.confidence, r.method) for r in view.meter.history]


def _usage_inputs(view: HubView, zone: tzinfo) -> tuple[date, float | None]:
    """What "Consumption" depends on besides the readings: the local day (today and this
    month start at midnight) and the Powerwall's grid import today."""
    grid_import = view.energy.grid_import_kwh if view.power.sample is not None else None
    return view.now.astimezone(zone).date(), grid_import
