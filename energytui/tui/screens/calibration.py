"""Meter calibration, driven by keyboard, against a meter_agent over HTTP.

The camera picture is shown with the digit window drawn on it; arrows move the
window, and plain letters resize and tune it (keys that survive tmux and SSH).
Edits stay local until `enter` saves them to the agent in one PUT; `escape`
leaves without saving, so nothing is ever half-saved.
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
from textual.widgets import Header, Static

from energytui.agent_client import AgentClient, AgentError
from energytui.tui.screens.base import HubScreen
from energytui.tui.widgets.frame import FramePreview, decode_jpeg_rgb
from energytui.tui.widgets.keyfooter import KeyFooter

if TYPE_CHECKING:
    pass

DISPLAYS = ("auto", "lcd7", "drum")
STEPS = (1, 4, 16, 64)


class CalibrationScreen(HubScreen):
    BINDINGS = [
        Binding("escape", "leave", "Leave (no save)"),
        Binding("enter", "save", "Save"),
        Binding("left", "move(-1, 0)", "Move", key_display="←↑↓→"),
        Binding("right", "move(1, 0)", "Move", show=False),
        Binding("up", "move(0, -1)", "Move", show=False),
        Binding("down", "move(0, 1)", "Move", show=False),
        Binding("shift+left,h", "resize(-1, 0)", "Narrower", key_display="h"),
        Binding("shift+right,l", "resize(1, 0)", "Wider", key_display="l"),
        Binding("shift+up,k", "resize(0, -1)", "Shorter", key_display="k"),
        Binding("shift+down,j", "resize(0, 1)", "Taller", key_display="j"),
        Binding("g", "step", "Step"),
        Binding("r", "rotate(-0.5)", "Rot−"),
        Binding("R", "rotate(0.5)", "Rot+"),
        Binding("plus,equals_sign", "threshold(5)", "Thr+", key_display="+"),
        Binding("minus", "threshold(-5)", "Thr−", key_display="-"),
        Binding("d", "digits(-1)", "Digits−"),
        Binding("D", "digits(1)", "Digits+"),
        Binding("full_stop", "decimals", "Decimals", key_display="."),
        Binding("t", "display", "Type"),
        Binding("f", "refresh_frame", "Frame"),
    ]

    DEFAULT_CSS = """
    CalibrationScreen #cal-body { height: 1fr; }
    CalibrationScreen #cal-preview { width: 2fr; border: round $primary; }
    CalibrationScreen #cal-side { width: 1fr; min-width: 30; border: round $primary; padding: 0 1; }
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

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        with Horizontal(id="cal-body"):
            with Vertical(id="cal-preview"):
                yield FramePreview(half_blocks=not self.app.console_mode, id="cal-frame")
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
        self.query_one("#cal-side").border_title = "Window and reading"
        self.sub_title = "meter calibration"
        if self.client is None:
            self._status(
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT).", error=True
            )
            self._render_side()
            return
        self._status(f"Connecting to {self.client.base_url} …")
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
            data = await client.frame("raw")
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
        self._status(
            "Connected. Arrows move the window; enter saves, escape leaves without saving.", ok=True
        )
        self._render_side()
        self.request_ocr()

    @work(exclusive=True, group="cal-frame", exit_on_error=False)
    async def fetch_frame(self) -> None:
        if self.client is None or self.cal is None:
            return
        try:
            frame = decode_jpeg_rgb(await self.client.frame("raw"))
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
        self.query_one("#cal-frame", FramePreview).set_frame(self._frame, roi, cells=self.cells)

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
            return Text("—", style="grey50")
        if not a.get("reference"):
            return Text("no reference", style="grey70")
        if a.get("ok") is False:
            why = a.get("why") or ""
            return Text(
                f"moved: check the calibration {('(' + why + ')') if why else ''}", style="red"
            )
        return Text(
            f"shift {float(a.get('shift_px') or 0):.1f} px, "
            f"rotation {float(a.get('rotation_deg') or 0):+.2f}°",
            style="green",
        )

    def _status(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        w = self.query_one("#cal-status", Static)
        w.update(text)
        w.set_class(error, "error")
        w.set_class(ok and not error, "ok")

    @property
    def dirty(self) -> bool:
        return self.cal is not None and self.cal != self.saved

    def _render_side(self) -> None:
        side = self.query_one("#cal-side", Static)
        if self.cal is None:
            side.update(Text("Waiting for the agent…", style="grey50"))
            return
        c = self.cal
        t = Table.grid(padding=(0, 1))
        t.add_column(style="grey70")
        t.add_column(style="bold")
        x, y, w, h = c["roi"]
        t.add_row("window", f"x {x} y {y}")
        t.add_row("size", f"{w} × {h} px")
        t.add_row("step", f"{STEPS[self.step_index]} px")
        t.add_row("rotate", f"{c.get('rotate_degrees', 0):+.1f}°")
        thr = c.get("threshold", 0)
        t.add_row("threshold", "auto" if not thr else str(thr))
        t.add_row("digits", str(c.get("expected_digits")))
        t.add_row("decimals", str(c.get("decimals")))
        t.add_row("display", str(c.get("display")))
        t.add_row("", "UNSAVED" if self.dirty else "saved")
        t.add_row("", "")
        o = self.ocr
        if o is None:
            t.add_row("reading", "…")
        elif "error" in o:
            t.add_row("reading", Text(o["error"], style="red"))
        else:
            digits = o.get("digits")
            t.add_row("reading", digits if digits is not None else "—")
            conf = o.get("confidence")
            t.add_row("confidence", "—" if conf is None else f"{conf:.0%}")
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

    def action_refresh_frame(self) -> None:
        self.fetch_frame()

    def action_save(self) -> None:
        if self._edit() is not None:
            self.save()

    @work(exclusive=True, group="cal-save", exit_on_error=False)
    async def save(self) -> None:
        cal, client = self.cal, self.client
        if cal is None or client is None:  # action_save starts this only with both
            return
        body: dict[str, Any] = {
            k: cal[k]
            for k in (
                "roi",
                "rotate_degrees",
                "display",
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
        if self.dirty:
            self.app.notify("Calibration left without saving.", timeout=3)
        self.app.pop_screen()
