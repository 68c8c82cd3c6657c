"""Meter calibration, driven by keyboard, against a meter_agent over HTTP.

The camera picture is shown with the digit window drawn on it, at the best
resolution the terminal allows (Sixel or the kitty graphics protocol, else half
blocks; see :mod:`energytui.tui.widgets.preview`), and beside it the window itself
zoomed at the camera's resolution, turned as the reader turns it. Arrows move the
window, and plain letters resize and tune it (keys that survive tmux and SSH; `<` `>`
turn it, as `r` is the app's "poll now" everywhere). Edits stay local until `enter`
saves them to the agent in one PUT; `escape` with unsaved edits asks whether to save,
discard or stay, so nothing is ever half-saved or lost by one key.

The token is tried as the screen opens (a live reading of the window needs it), so a
wrong one is said at once rather than after the first edit.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Header, Static

from energytui.agent_client import AgentClient, AgentError
from energytui.tui.screens.base import HubScreen
from energytui.tui.widgets.frame import decode_jpeg_rgb
from energytui.tui.widgets.keyfooter import KeyFooter
from energytui.tui.widgets.preview import CameraPreview, chosen_renderer, window_crop

if TYPE_CHECKING:
    pass

DISPLAYS = ("auto", "lcd7", "drum")
#: a drum window's last digit: a turning drum (read as its lower digit until the next is
#: in place), or one known to stand on a digit (a crop of one whole digit)
LAST_DIGITS = ("turning", "settled")
STEPS = (1, 4, 16, 64)


class LeaveDialog(ModalScreen[str]):
    """Unsaved calibration edits and `escape`: save them, discard them, or stay.

    Dismisses with "save", "discard" or "stay"; `escape` here is "stay" (a second escape
    never throws work away)."""

    DEFAULT_CSS = """
    LeaveDialog { align: center middle; }
    LeaveDialog > Vertical { width: 60; height: auto; border: thick $warning;
                             background: $surface; padding: 1 2; }
    LeaveDialog Horizontal { height: auto; margin-top: 1; }
    LeaveDialog Button { margin-right: 2; }
    LeaveDialog > Vertical.console { border: solid $warning; }
    """
    BINDINGS = [
        Binding("s", "choose('save')", "Save and leave"),
        Binding("d", "choose('discard')", "Discard and leave"),
        Binding("escape,n", "choose('stay')", "Stay", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        # on the Linux console: box lines, not the half blocks of a thick border
        compact = bool(getattr(self.app, "console_mode", False))
        with Vertical(classes="console" if compact else ""):
            yield Static(
                "The calibration has unsaved changes. Save them to the meter agent, "
                "discard them, or stay on this screen?"
            )
            with Horizontal():
                yield Button("Save (s)", id="leave-save", variant="primary", compact=compact)
                yield Button("Discard (d)", id="leave-discard", variant="error", compact=compact)
                yield Button("Stay (esc)", id="leave-stay", compact=compact)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "leave-stay").removeprefix("leave-"))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class CalibrationScreen(HubScreen):
    # the footer shows the first ones (save, back, move, size, rotate); every binding has
    # a description for the help page, and the hidden ones name their own direction
    BINDINGS = [
        Binding("enter", "save", "Save"),
        Binding("escape", "leave", "Back", tooltip="Leave; asks first when edits are unsaved"),
        Binding("left", "move(-1, 0)", "Move", key_display="arrows"),
        Binding("right", "move(1, 0)", "Move right", show=False),
        Binding("up", "move(0, -1)", "Move up", show=False),
        Binding("down", "move(0, 1)", "Move down", show=False),
        Binding("h,shift+left", "resize(-1, 0)", "Size", key_display="hjkl"),
        Binding("l,shift+right", "resize(1, 0)", "Wider", show=False),
        Binding("k,shift+up", "resize(0, -1)", "Shorter", show=False),
        Binding("j,shift+down", "resize(0, 1)", "Taller", show=False),
        Binding("less_than_sign", "rotate(-0.5)", "Rotate", key_display="< >"),
        Binding("greater_than_sign", "rotate(0.5)", "Rotate +0.5 deg", show=False),
        Binding("g", "step", "Step"),
        Binding("plus,equals_sign", "threshold(5)", "Threshold", key_display="+ -"),
        Binding("minus", "threshold(-5)", "Threshold -5", show=False),
        Binding("d", "digits(-1)", "Digits", key_display="d D"),
        Binding("D", "digits(1)", "Digits +1", show=False),
        Binding("full_stop", "decimals", "Decimals", key_display="."),
        Binding("t", "display", "Display type"),
        Binding(
            "u",
            "last_digit",
            "Last digit",
            tooltip="Drums: the last digit turns, or stands on a digit",
        ),
        Binding("f", "refresh_frame", "New frame"),
    ]

    DEFAULT_CSS = """
    CalibrationScreen #cal-body { height: 1fr; }
    CalibrationScreen #cal-left { width: 2fr; }
    CalibrationScreen #cal-preview { height: 2fr; border: round $primary; }
    CalibrationScreen #cal-zoom { height: 1fr; min-height: 5; border: round $primary; }
    CalibrationScreen #cal-side { width: 1fr; min-width: 30; height: 100%; overflow-y: auto; border: round $primary; padding: 0 1; }
    CalibrationScreen #cal-status { height: auto; padding: 0 1; }
    CalibrationScreen #cal-status.error { color: $error; text-style: bold; }
    CalibrationScreen #cal-status.ok { color: $success; }
    """

    def __init__(self, *, client: AgentClient | None = None, refresh_s: float = 1.0) -> None:
        super().__init__()
        self._client = client
        self._owns_client = client is None  # made here from the config: closed here
        self.refresh_s = refresh_s
        self.cal: dict[str, Any] | None = None
        self.saved: dict[str, Any] | None = None
        self.frame_size: tuple[int, int] | None = None
        self.step_index = 1
        self.ocr: dict[str, Any] | None = None
        self._frame: np.ndarray | None = None
        self._ocr_task: asyncio.Task | None = None
        self.token_error: str | None = None  # the agent refused the token (said on opening)

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        console = self.app.console_mode
        renderer = chosen_renderer(self.app.config.tui.preview, console=console)
        yield Header(show_clock=False, icon="=" if console else "≡")
        with Horizontal(id="cal-body"):
            with Vertical(id="cal-left"):
                with Vertical(id="cal-preview"):
                    yield CameraPreview(renderer=renderer, id="cal-frame")
                with Vertical(id="cal-zoom"):
                    yield CameraPreview(
                        renderer=renderer, message="No window yet.", id="cal-zoom-view"
                    )
            yield Static("", id="cal-side")
        yield Static("", id="cal-status")
        yield KeyFooter()

    @property
    def client(self) -> AgentClient | None:
        if self._client is None:
            meter = self.app.config.meter
            endpoint = meter.endpoint
            if endpoint:
                self._client = AgentClient(endpoint, token=meter.token)
        return self._client

    def on_mount(self) -> None:
        self.query_one("#cal-preview").border_title = "Camera"
        self.query_one("#cal-zoom").border_title = "Window, at the camera's resolution"
        self.query_one("#cal-side").border_title = "Window and reading"
        self.sub_title = "meter calibration"
        if self.client is None:
            self._status(
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT).", error=True
            )
            self._render_side()
            return
        self._status(f"Connecting to {self.client.base_url} {self._ascii('…', '...')}")
        self.load()
        refresh = (
            self.app.config.tui.preview_refresh_s if self.refresh_s is None else self.refresh_s
        )
        if refresh > 0:
            self.set_interval(refresh, self.fetch_frame)

    async def on_unmount(self) -> None:
        if self._ocr_task is not None:
            self._ocr_task.cancel()
        if self._client is not None and self._owns_client:
            with contextlib.suppress(Exception):
                await self._client.close()

    # -- talking to the agent ---------------------------------------------------------
    @work(exclusive=True, group="cal-load", exit_on_error=False)
    async def load(self) -> None:
        client = self.client
        if client is None:  # on_mount starts this only with a client
            return
        try:
            cal = await client.calibration()
            data = await client.frame("raw", outline=False)
            frame = decode_jpeg_rgb(data)
        except (AgentError, ValueError) as exc:
            self._status(str(exc), error=True)
            return
        self.frame_size = (frame.shape[1], frame.shape[0])
        if not cal.get("roi"):
            w, h = self.frame_size
            cal["roi"] = [w // 4, h // 3, w // 2, h // 4]
        self.cal = dict(cal)
        self.saved = dict(cal)
        self._frame = frame
        self._show_frame()
        self._render_side()
        # the token, tried now: a live reading of the window needs it, as saving does
        try:
            self.ocr = await client.ocr(self.cal)
        except AgentError as exc:
            self.ocr = {"error": str(exc)}
            if exc.status in (401, 403):
                self.token_error = str(exc)
                self._status(
                    f"{_sentence(str(exc))} Edits can be made but not tried or saved.",
                    error=True,
                )
                self._render_side()
                return
        self._status(
            "Connected. Arrows move the window; enter saves; escape leaves (asking first "
            "when there are unsaved edits).",
            ok=True,
        )
        self._show_frame()
        self._render_side()

    @work(exclusive=True, group="cal-frame", exit_on_error=False)
    async def fetch_frame(self) -> None:
        if self.client is None or self.cal is None:
            return
        try:
            frame = decode_jpeg_rgb(await self.client.frame("raw", outline=False))
        except (AgentError, ValueError) as exc:
            self._status(str(exc), error=True)
            return
        self._frame = frame
        self.frame_size = (frame.shape[1], frame.shape[0])
        self._show_frame()

    def request_ocr(self) -> None:
        """Debounced live OCR of the window as it is now (not saved)."""
        if self._ocr_task is not None:
            self._ocr_task.cancel()
        self._ocr_task = asyncio.create_task(self._ocr_later())

    async def _ocr_later(self) -> None:
        await asyncio.sleep(0.4)
        if self.client is None or self.cal is None:
            return
        try:
            self.ocr = await self.client.ocr(self.cal)
        except AgentError as exc:
            self.ocr = {"error": str(exc)}
        if self.is_mounted:
            self._render_side()
            if self._frame is not None:
                self._show_frame()

    # -- rendering --------------------------------------------------------------------
    def _show_frame(self) -> None:
        roi = self.cal.get("roi") if self.cal else None
        self.query_one("#cal-frame", CameraPreview).set_frame(self._frame, roi, cells=self.cells)
        zoom = self.query_one("#cal-zoom-view", CameraPreview)
        if self._frame is None or not roi:
            zoom.set_frame(None)
            return
        rotate = float((self.cal or {}).get("rotate_degrees") or 0.0)
        zoom.set_frame(window_crop(self._frame, roi, rotate))

    @property
    def cells(self) -> list | None:
        """The digit cells the agent cut in the last live reading (camera pixels)."""
        vision = (self.ocr or {}).get("vision")
        return vision.get("cells") if isinstance(vision, dict) else None

    def alignment_text(self) -> Text:
        """How the camera's picture lies against the calibration's reference picture."""
        vision = (self.ocr or {}).get("vision")
        a = vision.get("alignment") if isinstance(vision, dict) else None
        if not isinstance(a, dict):
            return Text(self.none, style="grey50")
        if not a.get("reference"):
            return Text("no reference", style="grey70")
        if a.get("ok") is False:
            why = a.get("why") or ""
            return Text(
                f"moved: check the calibration {('(' + why + ')') if why else ''}", style="red"
            )
        return Text(
            f"shift {float(a.get('shift_px') or 0):.1f} px, "
            f"rotation {float(a.get('rotation_deg') or 0):+.2f}{self.degree}",
            style="green",
        )

    # -- glyphs the Linux console's font has (see energytui.tui.glyphs) ---------------
    def _ascii(self, fancy: str, plain: str) -> str:
        return plain if self.app.console_mode else fancy

    @property
    def none(self) -> str:
        return self._ascii("—", "-")

    @property
    def degree(self) -> str:
        return self._ascii("°", " deg")

    def _status(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        w = self.query_one("#cal-status", Static)
        w.update(text)
        w.set_class(error, "error")
        w.set_class(ok and not error, "ok")

    @property
    def dirty(self) -> bool:
        return self.cal is not None and self.cal != self.saved

    def _drum_window(self) -> bool:
        """Whether the window may be drums, whose last digit turns: an LCD has none,
        whether set so or taken for one by ``auto`` (which sticks)."""
        display = None if self.cal is None else self.cal.get("display")
        read_as = None if self.ocr is None else self.ocr.get("display")
        return display != "lcd7" and not (display == "auto" and read_as == "lcd7")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``u`` (the drums' last digit) is greyed out in the footer for an LCD."""
        if action == "last_digit" and not self._drum_window():
            return None
        return True

    def _render_side(self) -> None:
        side = self.query_one("#cal-side", Static)
        if self.cal is None:
            side.update(Text(f"Waiting for the agent{self._ascii('…', '...')}", style="grey50"))
            return
        c = self.cal
        t = Table.grid(padding=(0, 1))
        t.add_column(style="grey70")
        t.add_column(style="bold")
        x, y, w, h = c["roi"]
        t.add_row("window", f"x {x} y {y}")
        t.add_row("size", f"{w} {self._ascii('×', 'x')} {h} px")
        t.add_row("step", f"{STEPS[self.step_index]} px")
        t.add_row("rotate", f"{c.get('rotate_degrees', 0):+.1f}{self.degree}")
        thr = c.get("threshold", 0)
        t.add_row("threshold", "auto" if not thr else str(thr))
        t.add_row("digits", str(c.get("expected_digits")))
        t.add_row("decimals", str(c.get("decimals")))
        display = str(c.get("display"))
        read_as = None if self.ocr is None else self.ocr.get("display")
        if display == "auto" and read_as in ("lcd7", "drum"):
            # what auto took the meter for: it sticks until the calibration changes
            display = f"auto {self._ascii('→', '->')} {read_as}"
        t.add_row("display", display)
        self.refresh_bindings()
        if self._drum_window():
            t.add_row("last digit", str(c.get("last_digit", "turning")))
        t.add_row("", "UNSAVED" if self.dirty else "saved")
        t.add_row("", "")
        o = self.ocr
        if o is None:
            t.add_row("reading", self._ascii("…", "..."))
        elif "error" in o:
            t.add_row("reading", Text(o["error"], style="red"))
        else:
            digits = o.get("digits")
            t.add_row("reading", digits if digits is not None else self.none)
            conf = o.get("confidence")
            t.add_row("confidence", self.none if conf is None else f"{conf:.0%}")
            per = o.get("per_digit") or []
            if per:
                cells = Text()
                for item in per:
                    ch, p = (
                        (item[0], item[1])
                        if isinstance(item, list | tuple)
                        else (item.get("digit"), item.get("confidence", 0))
                    )
                    style = "green" if p >= 0.9 else ("yellow" if p >= 0.6 else "red")
                    cells.append(f"{ch if ch is not None else '?'}:{p:.0%} ", style=style)
                t.add_row("per digit", cells)
            if o.get("reason"):
                t.add_row("note", Text(str(o["reason"]), style="yellow"))
            found = self.cells
            if found is not None:
                t.add_row("cells", f"{len(found)} found" if found else "none found")
            t.add_row("alignment", self.alignment_text())
        side.update(t)

    # -- edits ---------------------------------------------------------------------------
    def _edit(self) -> dict[str, Any] | None:
        """The calibration being edited, or None (and say so) until the agent answers."""
        if self.cal is None:
            self._status("Nothing to edit until the agent answers.", error=True)
        return self.cal

    def _clamp_roi(self, roi: list[int]) -> list[int]:
        x, y, w, h = roi
        w, h = max(8, w), max(8, h)
        if self.frame_size:
            fw, fh = self.frame_size
            w, h = min(w, fw), min(h, fh)
            x = min(max(0, x), fw - w)
            y = min(max(0, y), fh - h)
        else:
            x, y = max(0, x), max(0, y)
        return [int(x), int(y), int(w), int(h)]

    def _changed(self) -> None:
        self._show_frame()
        self._render_side()
        self.request_ocr()

    def action_move(self, dx: int, dy: int) -> None:
        if (cal := self._edit()) is not None:
            s = STEPS[self.step_index]
            x, y, w, h = cal["roi"]
            cal["roi"] = self._clamp_roi([x + dx * s, y + dy * s, w, h])
            self._changed()

    def action_resize(self, dw: int, dh: int) -> None:
        if (cal := self._edit()) is not None:
            s = STEPS[self.step_index]
            x, y, w, h = cal["roi"]
            cal["roi"] = self._clamp_roi([x, y, w + dw * s, h + dh * s])
            self._changed()

    def action_step(self) -> None:
        self.step_index = (self.step_index + 1) % len(STEPS)
        self._render_side()

    def action_rotate(self, delta: float) -> None:
        if (cal := self._edit()) is not None:
            v = float(cal.get("rotate_degrees") or 0.0) + delta
            cal["rotate_degrees"] = max(-180.0, min(180.0, round(v, 1)))
            self._changed()

    def action_threshold(self, delta: int) -> None:
        if (cal := self._edit()) is not None:
            v = int(cal.get("threshold") or 0)
            v = 128 + delta if v == 0 else v + delta
            cal["threshold"] = 0 if v <= 0 or v >= 255 else v
            self._changed()

    def action_digits(self, delta: int) -> None:
        if (cal := self._edit()) is not None:
            v = int(cal.get("expected_digits") or 6) + delta
            cal["expected_digits"] = max(1, min(12, v))
            self._changed()

    def action_decimals(self) -> None:
        if (cal := self._edit()) is not None:
            v = (int(cal.get("decimals") or 0) + 1) % 4
            cal["decimals"] = min(v, int(cal.get("expected_digits") or 6) - 1)
            self._changed()

    def action_display(self) -> None:
        if (cal := self._edit()) is not None:
            cur = cal.get("display", "auto")
            cal["display"] = (
                DISPLAYS[(DISPLAYS.index(cur) + 1) % len(DISPLAYS)] if cur in DISPLAYS else "auto"
            )
            self._changed()

    def action_last_digit(self) -> None:
        if (cal := self._edit()) is not None:
            cur = cal.get("last_digit", "turning")
            cal["last_digit"] = (
                LAST_DIGITS[(LAST_DIGITS.index(cur) + 1) % len(LAST_DIGITS)]
                if cur in LAST_DIGITS
                else "turning"
            )
            self._changed()

    def action_refresh_frame(self) -> None:
        self.fetch_frame()

    def action_save(self) -> None:
        if self._edit() is not None:
            self.save()

    @work(exclusive=True, group="cal-save", exit_on_error=False)
    async def save(self) -> None:
        await self._save()

    async def _save(self) -> None:
        cal, client = self.cal, self.client
        if cal is None or client is None:  # action_save starts this only with both
            return
        body: dict[str, Any] = {
            k: cal[k]
            for k in (
                "roi",
                "rotate_degrees",
                "display",
                "last_digit",
                "expected_digits",
                "decimals",
                "threshold",
            )
            if k in cal
        }
        try:
            reply = await client.save_calibration(body)
        except AgentError as exc:
            self._status(f"Not saved: {exc}", error=True)
            return
        saved = reply.get("calibration") or body
        self.cal = dict(saved)
        self.saved = dict(saved)
        if reply.get("ocr"):
            self.ocr = reply["ocr"]
        self._status("Saved to the meter agent.", ok=True)
        self._show_frame()
        self._render_side()

    def action_leave(self) -> None:
        """Back at once without unsaved edits; with some, ask: save, discard or stay."""
        if not self.dirty:
            self.app.pop_screen()
            return

        def chosen(choice: str | None) -> None:
            if choice == "save":
                self.save_and_leave()
            elif choice == "discard":
                self.app.notify("Calibration edits discarded.", timeout=3)
                self.app.pop_screen()

        self.app.push_screen(LeaveDialog(), chosen)

    @work(exclusive=True, group="cal-save", exit_on_error=False)
    async def save_and_leave(self) -> None:
        """Save, and leave only when the agent took it (a refusal stays to be read)."""
        await self._save()
        if not self.dirty and self.is_current:
            self.app.pop_screen()


def _sentence(text: str) -> str:
    """``text`` as a sentence of the status line: a capital first, a full stop last."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."
