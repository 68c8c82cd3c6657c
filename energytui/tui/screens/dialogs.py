"""A one-line question as a modal dialog, shared by the devices and meter screens.

Why one class: the reserve and the meter reading are asked the same way — a sentence,
one input line, a line saying what is wrong with the answer, Enter to send and Escape
to cancel — and only the parsing differs.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class InputDialog(ModalScreen[Any]):
    """Dismisses with the parsed answer, or None when cancelled. Subclasses override
    :meth:`parse`; the error line's id is ``<name>-error`` and the input's ``<name>-input``."""

    DEFAULT_CSS = """
    InputDialog { align: center middle; }
    InputDialog > Vertical { width: 64; height: auto; border: thick $accent; padding: 1 2;
                             background: $surface; }
    InputDialog .dialog-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, name: str, **input_options: Any) -> None:
        super().__init__()
        self.question = question
        self.field = name
        self.input_options = input_options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Input(id=f"{self.field}-input", **self.input_options)
            yield Static("", id=f"{self.field}-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def parse(self, text: str) -> tuple[Any, str | None]:
        """The answer's value, or None and one sentence saying what to enter instead."""
        return text, None

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value, error = self.parse(event.value)
        if error is not None:
            self.query_one(f"#{self.field}-error", Static).update(error)
            return
        self.dismiss(value)
